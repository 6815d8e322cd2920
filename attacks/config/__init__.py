"""Every attack's configuration as data, one module per method (as breaching's config/attack/*.yaml): the
options dataclass with every hyperparameter and its default, the capabilities, main_grad's simulated client
and the named presets. Nothing here imports torch."""

from fedprivacy.attacks.config import cpa, dlg, ggl, grnn, idlg, inverting, rtf

SPECS = (dlg.SPEC, idlg.SPEC, *inverting.SPECS, grnn.SPEC, ggl.SPEC, rtf.SPEC, cpa.SPEC)
