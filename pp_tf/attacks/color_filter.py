"""The old path of `pp_tf.attacks.tone_curves` (with the colour attacks' shared code now in
`pp_tf.attacks.color_attack`); it answers, with a FutureWarning, for one more release."""

from pp_tf import deprecation

_SHARED = ("Look", "EnsembleLoss", "LOOKS", "AppealFn", "look_curve", "adam_update",
           "view_specs", "fooling_and_appeal", "optimise", "LEARNING_RATE_HELP", "LOOK_HELP",
           "LOOK_WEIGHT_HELP", "ENSEMBLE_LOSS_HELP", "APPEAL_WEIGHT_HELP", "PLAIN_VIEW_HELP",
           "SKIP_EROSION_HELP")
__getattr__ = deprecation.renamed(__name__, "pp_tf.attacks.tone_curves", {
    "ColorFilterConfig": "pp_tf.attacks.tone_curves:ToneCurvesConfig",
    "ColorFilter": "pp_tf.attacks.tone_curves:ToneCurves",
    **deprecation.names_in("pp_tf.attacks.color_attack", _SHARED)})
