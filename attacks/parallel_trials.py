"""Restart trials run side by side in worker processes, answered one index at a time for best_trial.

L-BFGS line searches cannot be batched across trials without coupling them, so dlg and idlg run
independent trials in separate processes instead. Workers take trials in index order; best_trial asks
for the results in that order, so it keeps exactly the trial a sequential run keeps. Once a trial is
good enough, later trials are cancelled (a sequential run would never start them) while earlier ones
finish (a sequential run would have run them first, and one of them may be good enough too).

Workers come from a "forkserver" that imports torch once: forking a process whose OpenMP threads
already ran can deadlock, and "spawn" re-imports torch in every worker (half a minute on a busy
2-core machine). Each worker runs torch on its share of this process's threads.
"""

import multiprocessing
import pickle
import queue
import signal
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from typing import Any, TypeVar

import torch
from tqdm import tqdm

T = TypeVar("T")
Step = Callable[[float], bool]  # called after each optimisation step with the loss; False: stop the trial
Trial = Callable[[int, Step], tuple[float, T]]  # (index, step) -> (loss, result); picklable when run in workers


@contextmanager
def trial_results(
    trial: Trial, restarts: int, workers: int, bar: tqdm, good_enough: Callable[[float], bool]
) -> Iterator[Callable[[int], tuple[float, T]]]:
    """index -> (loss, result) of `trial` for best_trial: computed on request in this process when
    `workers` or `restarts` is 1, else by min(workers, restarts) worker processes stopped on exit."""
    if min(workers, restarts) <= 1:
        yield lambda index: trial(index, partial(show, bar))
        return
    pool = Pool(trial, restarts, min(workers, restarts), bar, good_enough)
    try:
        pool.start()
        yield pool.result
    finally:
        pool.close()


def show(bar: tqdm, loss: float, **postfix: object) -> bool:
    """One step on the progress bar with its loss; the trial goes on."""
    bar.set_postfix(**postfix, loss=f"{loss:.3g}")
    bar.update()
    return True


class Pool:
    """Worker processes running `trial` for indices 0..restarts-1 in order, reporting each step (for the
    bar) and each result to this process, and skipping or stopping trials after a good-enough one."""

    def __init__(self, trial: Trial, restarts: int, workers: int, bar: tqdm, good_enough: Callable[[float], bool]):
        context = multiprocessing.get_context("forkserver")
        # Workers start with torch and the trial's module imported (takes effect when the server starts).
        context.set_forkserver_preload(["torch", getattr(trial, "func", trial).__module__])
        self.messages = context.Queue()
        self.next_index = context.Value("i", 0)
        self.last_needed = context.Value("i", restarts - 1, lock=False)  # written only here
        threads = max(1, torch.get_num_threads() // workers)
        # Pickled by value here, like the results: torch's multiprocessing pickler would pass one file
        # descriptor per tensor, and a process can be handed at most a few hundred.
        arguments = (pickle.dumps(trial), restarts, self.next_index, self.last_needed, self.messages, threads)
        self.processes = [context.Process(target=work, args=arguments, daemon=True) for _ in range(workers)]
        self.results: dict[int, Any] = {}
        self.bar, self.good_enough = bar, good_enough

    def start(self) -> None:
        for process in self.processes:
            process.start()

    def result(self, index: int) -> tuple[float, Any]:
        """Trial `index`'s (loss, result), waiting for it; its worker's exception is raised here."""
        while index not in self.results:
            self.receive()
        outcome = self.results[index]
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    def receive(self) -> None:
        """Take one message: a step moves the bar; a result is kept, and when it is good enough no later
        trial is needed. Raises when a worker died without reporting."""
        try:
            kind, index, payload = self.messages.get(timeout=1.0)
        except queue.Empty:
            dead = [process.exitcode for process in self.processes if process.exitcode not in (None, 0)]
            if dead:
                raise RuntimeError(f"a trial worker process died (exit code {dead[0]})") from None
            return
        if kind == "step":
            show(self.bar, payload, trial=index + 1)
            return
        self.results[index] = outcome = pickle.loads(payload)
        if kind == "done" and index < self.last_needed.value and self.good_enough(outcome[0]):
            self.last_needed.value = index

    def close(self) -> None:
        """Stop every worker that started: whatever they still compute is not needed."""
        started = [process for process in self.processes if process.pid is not None]
        for process in started:
            if process.is_alive():
                process.terminate()
        for process in started:
            process.join()
        self.messages.close()


def work(trial: bytes, restarts: int, next_index: Any, last_needed: Any, messages: Any, threads: int) -> None:
    """A worker process: run the next trial of the pickled `trial` in index order until none is left or
    needed, posting each step's loss and each result, or the exception that stopped the trial."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the parent, which stops the workers
    torch.set_num_threads(threads)
    run = pickle.loads(trial)
    while True:
        with next_index.get_lock():
            index = next_index.value
            next_index.value += 1
        if index >= restarts or index > last_needed.value:
            return

        def step(loss: float, index: int = index) -> bool:
            messages.put(("step", index, loss))
            return index <= last_needed.value

        # Results travel pickled by value too: the queue's pickler would share tensors through this
        # process, which is stopped once the answer is known.
        try:
            messages.put(("done", index, pickle.dumps(run(index, step))))
        except Exception as error:
            error.add_note(f"in the worker process of trial {index}:\n{traceback.format_exc()}")
            try:
                payload = pickle.dumps(error)
            except Exception:
                payload = pickle.dumps(RuntimeError(f"trial {index}: {error!r}"))
            messages.put(("error", index, payload))
