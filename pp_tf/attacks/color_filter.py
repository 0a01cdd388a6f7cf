"""The old path of `pp_tf.attacks.tone_curves` (with the colour attacks' shared code now in
`pp_tf.attacks.color_attack`); it answers, with a FutureWarning, for one more release."""

from pp_tf import deprecation

_SHARED = ("Look", "EnsembleLoss", "LOOKS", "AppealFn", "look_curve", "adam_update",
           "view_specs", "fooling_and_appeal", "optimise")
__getattr__ = deprecation.renamed(__name__, "pp_tf.attacks.tone_curves", {
    "ColorFilterConfig": "pp_tf.attacks.tone_curves:ToneCurvesConfig",
    "ColorFilter": "pp_tf.attacks.tone_curves:ToneCurves",
    **{name: f"pp_tf.attacks.color_attack:{name}" for name in _SHARED}})
