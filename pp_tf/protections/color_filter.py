"""The old path of `pp_tf.protections.tone_curves` (with the colour protections' shared code
now in `pp_tf.protections._color`); it answers, with a FutureWarning, for one more release.
The method's old name, `color_filter`, answers in the registry (`protections.current_name`)."""

from pp_tf import deprecation
from pp_tf.protections import tone_curves

__getattr__ = deprecation.renamed(__name__, "pp_tf.protections.tone_curves", {
    "ColorFilterSettings": "pp_tf.protections.tone_curves:ToneCurvesSettings",
    "ColourAttackSettings": "pp_tf.protections._color:ColorProtectionSettings",
    "colour_working_size": "pp_tf.protections._color:color_working_size",
    "build_colour_attack": "pp_tf.protections._color:build_color_attack",
    **tone_curves.MOVED_NAMES})
