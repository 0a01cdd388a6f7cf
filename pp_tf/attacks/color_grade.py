"""The old path of `pp_tf.attacks.color_lut`; it answers, with a FutureWarning, for one more
release."""

from pp_tf import deprecation

__getattr__ = deprecation.renamed(__name__, "pp_tf.attacks.color_lut", {
    "ColorGradeConfig": "pp_tf.attacks.color_lut:ColorLUTConfig",
    "ColorGrade": "pp_tf.attacks.color_lut:ColorLUT"})
