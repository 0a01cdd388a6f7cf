"""The protections registry: a method is one registration; settings, chains, views, noise."""

import dataclasses
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from PIL import Image

from pp_tf import protections
from pp_tf.protect import ProtectConfig, protect_folder
from pp_tf.protections import noise


@dataclasses.dataclass(frozen=True)
class InvertSettings:
    amount: float = dataclasses.field(default=1.0, metadata={"help": "How far to invert."})

    def __post_init__(self):
        if not 0 <= self.amount <= 1:
            raise ValueError(f"amount must be in [0, 1], got {self.amount}")


def _invert(settings):
    def apply(photo, context):
        context.record["mean_before"] = float(photo.mean())
        out = photo + settings.amount * (255.0 - 2.0 * photo)
        return np.clip(np.rint(out), 0, 255).astype(np.uint8)

    return protections.Prepared(apply, attackers=("made_up_attacker",))


@pytest.fixture
def invert():
    protection = protections.register(protections.Protection(
        "throwaway_invert", "invert the photo", InvertSettings, _invert))
    yield protection
    protections.unregister("throwaway_invert")


def write_photos(folder, count=2, shape=(20, 30, 3)):
    folder.mkdir()
    rng = np.random.default_rng(1)
    photos = {}
    for i in range(count):
        photos[f"p{i}.png"] = rng.integers(0, 256, shape, dtype=np.uint8)
        Image.fromarray(photos[f"p{i}.png"]).save(folder / f"p{i}.png")
    return photos


def test_a_registered_method_runs_in_protect_and_chains(tmp_path, invert):
    photos = write_photos(tmp_path / "photos")
    assert "throwaway_invert" in protections.names()
    config = ProtectConfig.from_values(("throwaway_invert", "center_crop"),
                                       {"amount": 1.0, "crop_fraction": 0.5})
    log = protect_folder(str(tmp_path / "photos"), str(tmp_path / "out"), config,
                         show_progress=False)
    assert log.ok and len(log.written) == 2
    for name, photo in photos.items():
        out = np.asarray(Image.open(tmp_path / "out" / name))
        np.testing.assert_array_equal(out, 255 - photo[5:15, 7:22])  # inverted, then 10x15 crop
    manifest = json.load(open(tmp_path / "out" / "protect.json"))
    assert manifest["settings"]["methods"] == ["throwaway_invert", "center_crop"]
    assert manifest["settings"]["settings"]["throwaway_invert"] == {"amount": 1.0}
    assert manifest["settings"]["attackers"] == ["made_up_attacker"]
    assert manifest["photos"]["p0.png"]["mean_before"] == pytest.approx(photos["p0.png"].mean())
    with pytest.raises(ValueError, match="already registered"):
        protections.register(invert)
    with pytest.raises(ValueError, match="amount"):
        ProtectConfig.from_values(("throwaway_invert",), {"amount": 2.0})


def test_one_file_adds_a_method_to_the_protect_script(tmp_path):
    """A module that calls `register`, imported before the script: a new --method and flag."""
    write_photos(tmp_path / "photos", count=1)
    (tmp_path / "plugin").mkdir()
    (tmp_path / "plugin" / "darken_method.py").write_text(textwrap.dedent('''
        import dataclasses
        import numpy as np
        from pp_tf import protections

        @dataclasses.dataclass(frozen=True)
        class DarkenSettings:
            darken_by: int = 10

        def build(settings):
            return protections.Prepared(lambda photo, _: np.clip(
                photo.astype(int) - settings.darken_by, 0, 255).astype(np.uint8))

        protections.register(protections.Protection("darken", "darker", DarkenSettings, build))
    '''))
    code = "import darken_method; from pp_tf.scripts import protect; protect.run()"
    result = subprocess.run(
        [sys.executable, "-c", code, "--method=darken", "--darken_by=40", "--noprogress",
         f"--input_dir={tmp_path / 'photos'}", f"--output_dir={tmp_path / 'out'}"],
        capture_output=True, text=True, timeout=300,
        env=dict(os.environ, PYTHONPATH=os.pathsep.join(
            [str(tmp_path / "plugin"), os.environ.get("PYTHONPATH", "")])))
    assert result.returncode == 0, result.stderr
    before = np.asarray(Image.open(tmp_path / "photos" / "p0.png")).astype(int)
    after = np.asarray(Image.open(tmp_path / "out" / "p0.png")).astype(int)
    np.testing.assert_array_equal(after, np.clip(before - 40, 0, 255))


def test_a_setting_name_has_one_type_across_methods():
    @dataclasses.dataclass(frozen=True)
    class Clashing:
        crop_fraction: str = "half"  # a float in the crop methods

    with pytest.raises(TypeError, match="crop_fraction"):
        protections.register(protections.Protection("clash", "", Clashing,
                                                    lambda s: protections.Prepared(None)))
    assert "clash" not in protections.names()


def test_each_method_takes_only_its_own_settings():
    config = ProtectConfig.from_values(("center_crop", "noise"),
                                       {"crop_fraction": 0.5, "xi": 4.0, "seed": 3,
                                        "placement": "crop"})
    assert dataclasses.asdict(config.settings["center_crop"]) == {"crop_fraction": 0.5}
    assert dataclasses.asdict(config.settings["noise"]) == {"xi": 4.0, "seed": 3}


def test_uap_is_placed_in_the_view_its_json_records(tmp_path):
    """A 240-pixel perturbation made for a 274/240 view: on a 548x600 photo the attacker's
    square has side 240 * 548 / 274 = 480, at (34, 60)."""
    v = np.full((240, 240, 3), 5.0, np.float32)
    np.save(tmp_path / "v.npy", v)
    (tmp_path / "v.json").write_text(json.dumps({
        "attacker": "efficientnet_lite1", "view": {"resize_size": 274, "crop_size": 240,
                                                   "normalization": "x", "label_space": "imagenet"}}))
    photo = np.full((548, 600, 3), 100, np.uint8)
    settings = protections.get("uap").make_settings({"perturbation": str(tmp_path / "v.npy"),
                                                     "placement": "crop"})
    prepared = protections.get("uap").build(settings)
    assert prepared.attackers == ("efficientnet_lite1",)
    out = prepared.apply(photo, protections.PhotoContext("a.png")).astype(int)
    expected = np.full(photo.shape, 100)
    expected[34:514, 60:540] = 105
    np.testing.assert_array_equal(out, expected)
    (tmp_path / "v.json").write_text(json.dumps({"view": {"resize_size": 256, "crop_size": 224}}))
    with pytest.raises(ValueError, match="224-pixel view"):
        protections.get("uap").build(settings)


def test_noise_is_plus_or_minus_xi_and_seeded_per_file():
    photo = np.full((40, 50, 3), 128, np.uint8)
    settings = noise.NoiseSettings(xi=7.0, seed=2)
    apply = protections.get("noise").build(settings).apply
    a = apply(photo, protections.PhotoContext("a.jpg")).astype(int)
    assert set(np.unique(a)) == {121, 135}
    assert 0.4 < (a == 135).mean() < 0.6
    np.testing.assert_array_equal(a, apply(photo, protections.PhotoContext("a.jpg")))
    assert (a != apply(photo, protections.PhotoContext("b.jpg"))).any()
    clipped = apply(np.full((4, 4, 3), 252, np.uint8), protections.PhotoContext("c.jpg"))
    assert set(np.unique(clipped)) <= {245, 255}


@pytest.mark.parametrize("method", ["pgd", "tone_curves", "color_lut"])
def test_every_attack_setting_is_a_protect_flag_written_once(method):
    """A protection's Settings extend its attack's Config: every field of the Config is a
    setting (one flag of `protect`, with the Config's help) and reaches the attack as it
    was given, with no list of fields written a second time."""
    settings = protections.get(method).make_settings({})
    config = settings.config()
    config_fields = {f.name: f for f in dataclasses.fields(config)}
    settings_fields = {f.name: f for f in dataclasses.fields(settings)}
    assert set(config_fields) < set(settings_fields)
    for name, field in config_fields.items():
        assert field.metadata.get("help"), f"{type(config).__name__}.{name} has no help"
        if name != "appeal_weight":  # the colour protections' default: 1, counted with --nima
            assert settings_fields[name].default == field.default, name
    flags = protections.setting_fields([protections.get(method)])
    assert set(config_fields) <= set(flags)
    assert flags["steps"].help == config_fields["steps"].metadata["help"]


def test_a_new_attack_knob_is_one_field():
    """The mechanism behind adding a knob: one `setting` field in an attack's Config
    reaches the protection's settings, a `protect` flag with its help, and the config the
    attack gets."""
    from pp_tf.attacks import pgd
    from pp_tf.protections import pgd as pgd_protection
    from pp_tf.settings import config_of, setting

    @dataclasses.dataclass(frozen=True)
    class KnobConfig(pgd.PGDConfig):
        new_knob: float = setting(0.5, "A new knob.")

    @dataclasses.dataclass(frozen=True)
    class KnobSettings(KnobConfig, pgd_protection.PGDSettings):
        def config(self):
            return config_of(KnobConfig, self)

    protection = protections.register(protections.Protection(
        "knob_test", "", KnobSettings, lambda settings: protections.Prepared(None)))
    try:
        flag = protections.setting_fields([protection])["new_knob"]
        assert flag.kind is float and flag.describe() == "A new knob. [knob_test; default 0.5]"
        config = protection.make_settings({"new_knob": 2.0, "xi": 4.0}).config()
        assert (config.new_knob, config.xi) == (2.0, 4.0)
    finally:
        protections.unregister("knob_test")


@pytest.mark.parametrize("old, new", [("color_filter", "tone_curves"),
                                      ("color_grade", "color_lut")])
def test_a_renamed_method_answers_to_its_old_name_with_a_warning(old, new):
    with pytest.warns(FutureWarning, match=f"'{old}' is now '{new}'"):
        assert protections.get(old) is protections.get(new)
    with pytest.warns(FutureWarning):
        config = ProtectConfig.from_values([old])
    assert config.methods == (new,) and set(config.settings) == {new}
    assert old not in protections.names()
    settings = protections.get(new).make_settings({"steps": 7})
    with pytest.warns(FutureWarning):
        config = ProtectConfig((old,), {old: settings})
    assert config.settings == {new: settings}
