"""The old path of `pp_tf.protections.color_lut`; it answers, with a FutureWarning, for one
more release. The method's old name, `color_grade`, answers in the registry
(`protections.current_name`)."""

from pp_tf import deprecation

__getattr__ = deprecation.renamed(__name__, "pp_tf.protections.color_lut", {
    "ColorGradeSettings": "pp_tf.protections.color_lut:ColorLUTSettings"})
