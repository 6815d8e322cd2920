"""The public-knowledge record: what the server knows that comes from data, each entry with its public
source, for the report's `public_knowledge` (fl/public.py loads the data and checks it is disjoint from
every client's images). Torch-free."""

from dataclasses import asdict, dataclass

PROBE_IMAGES = 64  # attacks/labels.py: random in-box images that estimate the mean softmax output


@dataclass
class PublicKnowledge:
    """One run's public knowledge; an entry is None when the run does not use it."""

    label_probe: dict | None = None  # label counts at batch > 1: random images, no data
    generator: dict | None = None  # GGL: the generator's training set
    normalization: dict | None = None  # --norm_stats dataset: published statistics or a public split
    imprint: dict | None = None  # --imprint: the bins' brightness quantiles

    def report(self) -> dict:
        """The entries in use, by name, as the JSON reports them."""
        return {key: value for key, value in asdict(self).items() if value is not None}


def probe_record() -> dict:
    """The label-count probe of attacks/labels.py: random images, no data."""
    return {
        "what": "label-count probe images",
        "from": "uniform random images in the valid pixel box (no data)",
        "images": PROBE_IMAGES,
    }
