"""Renamed modules, moved names and the old precision spelling answer for one release with a
FutureWarning naming the new place; importing an old module alone is silent."""

import importlib
import subprocess
import sys
import warnings

import pytest

from pp_tf.gan import precision

# (old module, old name, new module, new name): the renames as the change log states them.
MOVES = [
    ("pp_tf.attacks.color_filter", "ColorFilter", "pp_tf.attacks.tone_curves", "ToneCurves"),
    ("pp_tf.attacks.color_filter", "ColorFilterConfig", "pp_tf.attacks.tone_curves",
     "ToneCurvesConfig"),
    ("pp_tf.attacks.color_filter", "lookup_table", "pp_tf.attacks.tone_curves", "lookup_table"),
    ("pp_tf.attacks.color_filter", "LOOKS", "pp_tf.attacks.color_attack", "LOOKS"),
    ("pp_tf.attacks.color_filter", "optimise", "pp_tf.attacks.color_attack", "optimise"),
    ("pp_tf.attacks.color_filter", "LOOK_HELP", "pp_tf.attacks.color_attack", "LOOK_HELP"),
    ("pp_tf.attacks.color_grade", "ColorGrade", "pp_tf.attacks.color_lut", "ColorLUT"),
    ("pp_tf.attacks.color_grade", "ColorGradeConfig", "pp_tf.attacks.color_lut",
     "ColorLUTConfig"),
    ("pp_tf.attacks.color_grade", "grade_photo", "pp_tf.attacks.color_lut", "grade_photo"),
    ("pp_tf.protections.color_filter", "ColorFilterSettings", "pp_tf.protections.tone_curves",
     "ToneCurvesSettings"),
    ("pp_tf.protections.color_filter", "ColourAttackSettings", "pp_tf.protections._color",
     "ColorProtectionSettings"),
    ("pp_tf.protections.color_filter", "load_appeal", "pp_tf.protections._color",
     "load_appeal"),
    ("pp_tf.protections.color_filter", "attack_working_photo", "pp_tf.protections._per_photo",
     "attack_working_photo"),
    ("pp_tf.protections.tone_curves", "load_appeal", "pp_tf.protections._color",
     "load_appeal"),
    ("pp_tf.protections.tone_curves", "photo_seed", "pp_tf.protections._per_photo",
     "photo_seed"),
    ("pp_tf.stylize.generators", "PRECISIONS", "pp_tf.gan.precision", "PRECISIONS"),
    ("pp_tf.protections.color_grade", "ColorGradeSettings", "pp_tf.protections.color_lut",
     "ColorLUTSettings"),
    ("pp_tf.protections.pgd", "DEFAULT_ATTACKERS", "pp_tf.models", "TRAINED_ATTACKERS"),
    ("pp_tf.attacks.pgd", "Objective", "pp_tf.attacks.fooling", "Objective"),
    ("pp_tf.attacks.pgd", "view_labels", "pp_tf.attacks.fooling", "view_labels"),
    ("pp_tf.evaluate", "centre_crop", "pp_tf.evaluate", "center_crop"),
    ("pp_tf.demo", "UNSEEN_ATTACKER", "pp_tf.models", "UNSEEN_ATTACKERS"),
    ("pp_tf.stylize", "StageInfo", "pp_tf.seamless", "StageGeometry"),
]


@pytest.mark.parametrize("old_module, old_name, new_module, new_name", MOVES,
                         ids=[f"{m}.{n}" for m, n, _, _ in MOVES])
def test_an_old_name_is_the_new_object_with_a_warning(old_module, old_name, new_module,
                                                       new_name):
    old = importlib.import_module(old_module)
    with pytest.warns(FutureWarning, match=rf"{old_module}\.{old_name} is now "
                                           rf"{new_module}\.{new_name}; .*next release"):
        value = getattr(old, old_name)
    assert value is getattr(importlib.import_module(new_module), new_name)


def test_the_warning_points_at_the_line_that_used_the_old_name():
    with pytest.warns(FutureWarning) as caught:
        from pp_tf.attacks.color_grade import ColorGrade
    assert caught[0].filename == __file__
    assert ColorGrade.__name__ == "ColorLUT"


def test_a_name_that_never_was_is_an_attribute_error():
    from pp_tf.attacks import color_filter
    from pp_tf.protections import pgd

    with pytest.raises(AttributeError, match="no_such_name"):
        color_filter.no_such_name
    with pytest.raises(AttributeError, match="no_such_name"):
        pgd.no_such_name


def test_importing_the_package_and_the_old_modules_is_silent():
    code = ("import warnings; warnings.simplefilter('error'); import pp_tf.protections, "
            "pp_tf.attacks.color_filter, pp_tf.attacks.color_grade, pp_tf.evaluate, pp_tf.demo, "
            "pp_tf.stylize; print(sorted(pp_tf.protections.names()))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "tone_curves" in done.stdout and "color_filter" not in done.stdout


def test_one_precision_vocabulary_and_the_old_spelling():
    assert precision.PRECISIONS == ("float32", "mixed_float16", "mixed_bfloat16")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert [precision.check_precision(p) for p in precision.PRECISIONS] == list(
            precision.PRECISIONS)
    with pytest.warns(FutureWarning, match="'bfloat16' is now 'mixed_bfloat16'"):
        assert precision.check_precision("bfloat16") == "mixed_bfloat16"
    with pytest.raises(ValueError, match="float16x"):
        precision.check_precision("float16x")


def test_style_settings_and_generators_take_the_policy_names():
    from pp_tf.models import cyclegan
    from pp_tf.protections._style import StyleSettings
    from pp_tf.stylize import build_generator_model

    with pytest.warns(FutureWarning) as caught:
        assert StyleSettings(generator="cartoongan", precision="bfloat16").precision == (
            "mixed_bfloat16")
    assert caught[0].filename == __file__  # the line that used the old spelling
    with pytest.raises(ValueError, match="precision must be one of"):
        StyleSettings(generator="cartoongan", precision="half")
    for policy in precision.PRECISIONS:
        model = build_generator_model(lambda: cyclegan.ResnetGenerator(n_blocks=1, ngf=8),
                                      policy, convolutions="direct")
        assert model.dtype_policy.name == policy
