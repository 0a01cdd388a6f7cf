"""The adversarial colour grade (pp_tf.attacks.color_lut, method `color_lut`)."""

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

import tiny_models
from pp_tf.attacks import color_attack, fooling
from pp_tf.attacks import color_lut as cg
from pp_tf.protect import ProtectConfig
from test_pgd import other_attacker, protect_noise_photos, tiny_attacker


def test_the_grade_is_the_identity_at_init_on_every_8_bit_colour(rng):
    photo = rng.integers(0, 256, (64, 80, 3), dtype=np.uint8)
    photo[0, :3] = [[0, 0, 0], [255, 255, 255], [0, 128, 255]]
    for lattice in (2, 9, 17):
        np.testing.assert_array_equal(cg.grade_photo(photo, cg.identity_table(lattice)), photo)


@pytest.mark.parametrize("look", color_attack.LOOKS)
def test_a_look_table_is_the_look_curve_per_channel_interpolated_between_the_nodes(rng, look):
    """Reference: numpy's 1-D interpolation of the look's curve at the nodes, per channel
    (trilinear interpolation of a map that acts on each channel alone is that)."""
    lattice = 9
    colours = rng.uniform(0, 1, (500, 3)).astype(np.float32)
    graded = cg.apply_grade(colours, cg.look_table(look, lattice)).numpy()
    grid = np.linspace(0, 1, lattice)
    nodes = color_attack.look_curve(look, grid)
    expected = np.stack([np.interp(colours[:, c], grid, nodes[:, c]) for c in range(3)], -1)
    np.testing.assert_allclose(graded, expected, atol=1e-6)


def test_trilinear_interpolation_is_exact_for_affine_maps_and_at_the_nodes(rng):
    """Two properties that define it, checked on random colours and a random lattice."""
    lattice = 5
    grid = cg.identity_table(lattice)
    matrix = rng.normal(0, 1, (3, 3)).astype(np.float32)
    offset = rng.normal(0, 1, 3).astype(np.float32)
    affine = grid @ matrix.T + offset
    colours = rng.uniform(0, 1, (1000, 3)).astype(np.float32)
    np.testing.assert_allclose(cg.apply_grade(colours, affine).numpy(),
                               colours @ matrix.T + offset, atol=1e-5)
    table = rng.uniform(0, 1, (lattice, lattice, lattice, 3)).astype(np.float32)
    nodes = grid.reshape(-1, 3)
    np.testing.assert_allclose(cg.apply_grade(nodes, table).numpy(), table.reshape(-1, 3),
                               atol=1e-6)
    # between two nodes along an edge, the straight line between their colours
    midpoint = (grid[1, 2, 3] + grid[2, 2, 3]) / 2
    np.testing.assert_allclose(cg.apply_grade(midpoint[None], table).numpy()[0],
                               (table[1, 2, 3] + table[2, 2, 3]) / 2, atol=1e-6)


def test_the_full_resolution_grade_is_the_interpolated_grade_rounded_on_every_pixel(rng):
    photo = rng.integers(0, 256, (300, 400, 3), dtype=np.uint8)
    table = np.clip(cg.identity_table(9) + rng.normal(0, 0.05, (9, 9, 9, 3)), 0, 1).astype(
        np.float32)
    out = cg.grade_photo(photo, table, chunk=7919)  # chunks that split rows
    direct = cg.apply_grade(photo.reshape(-1, 3) / 255.0, table).numpy().reshape(photo.shape)
    np.testing.assert_array_equal(out, np.clip(np.rint(direct * 255), 0, 255).astype(np.uint8))


def test_slope_excess_and_roughness_against_hand_computed_values():
    lattice = 5
    grid = cg.identity_table(lattice)
    r = grid[..., 0]
    for look in color_attack.LOOKS:
        assert float(cg.slope_excess(cg.look_table(look, lattice), 2.0, 0.5)) == 0.0
    steep = grid.copy()
    steep[..., 0] = 3 * r  # red rises with slope 3 along red: excess 1 on every red edge
    assert float(cg.slope_excess(steep, 2.0, 0.5)) == pytest.approx(1.0)
    inverted = grid.copy()
    inverted[..., 0] = 1 - r  # slope -1: excess 1 below 0
    assert float(cg.slope_excess(inverted, 2.0, 0.5)) == pytest.approx(1.0)
    crossed = grid.copy()
    crossed[..., 1] += 0.8 * r  # green moves with red at 0.8: excess 0.3 on one of two
    assert float(cg.slope_excess(crossed, 2.0, 0.5)) == pytest.approx(0.09 / 2)
    matrix = np.array([[1.2, 0.1, 0], [0, 0.9, -0.2], [0.1, 0, 1]], np.float32)
    assert float(cg.roughness(grid @ matrix.T + 0.1)) == pytest.approx(0.0, abs=1e-12)
    bent = grid.copy()
    bent[..., 0] = r ** 2  # second difference 2 h^2 along red, one channel of three
    h = 1 / (lattice - 1)
    assert float(cg.roughness(bent)) == pytest.approx((2 * h * h) ** 2 / 3, rel=1e-4)


def test_the_grade_fools_through_eot_within_its_bounds():
    attackers = (tiny_attacker(), other_attacker())
    images, _ = tiny_models.synthetic_images(1, seed=7)
    config = cg.ColorLUTConfig(lattice=5, steps=15, learning_rate=0.03, look_weight=1.0,
                                 eot_samples=2, confidence=5.0)
    attack = cg.ColorLUT(attackers, config)
    photos = tf.constant(images)
    labels = fooling.clean_labels(attackers, photos)
    table = attack(photos, labels, seed=(1, 2))
    assert table.shape == (5, 5, 5, 3) and np.isfinite(table).all()
    assert table.min() >= 0 and table.max() <= 1
    assert not np.allclose(table, cg.identity_table(5))
    assert float(cg.slope_excess(table, config.max_gain, config.max_cross)) < 0.01
    seed = tf.constant([5, 5])
    before = attack.objective(photos, cg.identity_table(5), labels, seed)[1]
    after = attack.objective(photos, table, labels, seed)[1]
    assert float(tf.add_n(list(after))[0]) > float(tf.add_n(list(before))[0])


def test_the_look_distance_is_the_mean_squared_change_from_the_look_on_the_pixels(rng):
    attacker = tiny_attacker()
    photos = rng.integers(0, 256, (2, 20, 30, 3)).astype(np.float32)
    table = np.clip(cg.identity_table(5) + rng.normal(0, 0.1, (5, 5, 5, 3)), 0, 1).astype(
        np.float32)
    attack = cg.ColorLUT([attacker], cg.ColorLUTConfig(lattice=5, look="warm",
                                                           eot_samples=0, diversity=0.0))
    labels = fooling.clean_labels([attacker], photos)
    distance = attack.objective(tf.constant(photos), table, labels, tf.constant([0, 0]))[2]
    x = photos / 255.0
    graded = cg.apply_grade(x, table).numpy()
    # the look's curve, piecewise linear between 65 knots (`color_lut._LOOK_PIECES`)
    grid = np.linspace(0, 1, 65)
    knots = color_attack.look_curve("warm", grid)
    looked = np.stack([np.interp(x[..., c], grid, knots[:, c]) for c in range(3)], -1)
    np.testing.assert_allclose(float(distance), np.mean((graded - looked) ** 2), rtol=1e-4)


def test_config_refuses_bad_settings():
    for bad in ({"lattice": 1}, {"look": "sepia"}, {"max_gain": 0.0}, {"max_cross": -1.0},
                {"objective": "margin"}, {"diversity": 2.0}):
        with pytest.raises(ValueError):
            cg.ColorLUTConfig(**bad)


def test_protect_with_color_lut_records_the_lattice(tmp_path, rng):
    photos, log, manifest = protect_noise_photos(tmp_path, rng, "color_lut", {
        "steps": 3, "lattice": 5, "look": "vivid", "eot_samples": 1})
    assert log.ok and len(log.written) == 2
    assert manifest["settings"]["settings"]["color_lut"]["look"] == "vivid"
    # the tiny CNN has no residual add: its ghost is the attacker itself, and it says so
    assert manifest["settings"]["facts"]["color_lut"]["eroded_adds"] == {"tiny": 0}
    for name, photo in photos.items():
        record = manifest["photos"][name]["color_lut"]
        assert record["lattice"] == 5 and record["look"] == "vivid"
        rows = np.asarray(record["rgb"], np.float32)
        assert rows.shape == (125, 3)
        # .cube order: red fastest, then green, then blue
        table = rows.reshape(5, 5, 5, 3).transpose(2, 1, 0, 3)
        out = np.asarray(Image.open(tmp_path / "out" / name))
        # The output is the recorded lattice applied to the original.
        assert np.abs(out.astype(int) - cg.grade_photo(photo, table)).max() <= 1
    with pytest.raises(ValueError, match="lattice"):
        ProtectConfig.from_values(("color_lut",), {"lattice": 1})


def test_the_attackers_see_the_views_they_are_given_graded_not_the_working_photo(rng):
    """The fooling losses depend on `views` alone: with the views of photo B, they are
    photo B's losses whatever the working photo; the look distance stays the working
    photo's."""
    attackers = (tiny_attacker(), other_attacker())
    config = cg.ColorLUTConfig(lattice=5, eot_samples=1, plain_view=True, diversity=0.5)
    attack = cg.ColorLUT(attackers, config)
    photo_a = tf.constant(rng.integers(0, 256, (1, 40, 50, 3)).astype(np.float32))
    photo_b = tf.constant(rng.integers(0, 256, (1, 60, 45, 3)).astype(np.float32))
    table = np.clip(cg.identity_table(5) + rng.normal(0, 0.1, (5, 5, 5, 3)), 0, 1).astype(
        np.float32)
    labels = fooling.clean_labels(attackers, photo_b)
    seed = tf.constant([3, 4])
    views_b = tuple(a.view(photo_b) for a in attackers)
    given = attack.objective(photo_a, table, labels, seed, views=views_b)
    own_b = attack.objective(photo_b, table, labels, seed)
    own_a = attack.objective(photo_a, table, labels, seed)
    for loss, expected, other in zip(given[1], own_b[1], own_a[1]):
        np.testing.assert_allclose(loss.numpy(), expected.numpy(), rtol=1e-5)
        assert not np.allclose(loss.numpy(), other.numpy())
    np.testing.assert_allclose(float(given[2]), float(own_a[2]), rtol=1e-6)


def test_grading_a_view_is_close_to_viewing_the_graded_photo(rng):
    """Why the colour attacks grade each attacker's view of the full photo: a smooth
    grade nearly commutes with the view's antialiased resize. On a smooth synthetic photo
    (gradients and soft shapes) and a mildly perturbed grade, the two orders differ by a
    tenth of a grey level on average (at most 1.3). On pixel noise they would differ by 7:
    what the resize averages there spans much of the grade."""
    height, width = 600, 800
    y, x = np.mgrid[0:height, 0:width] / np.array([[[height]], [[width]]])
    photo = np.stack([255 * x, 255 * y, 128 + 100 * np.sin(6 * x + 4 * y)], -1)
    photo = np.clip(photo, 0, 255).astype(np.uint8)
    table = np.clip(cg.identity_table(9) + rng.normal(0, 0.03, (9, 9, 9, 3)), 0, 1).astype(
        np.float32)
    attacker = tiny_attacker(resize=64)
    graded_then_viewed = attacker.view(tf.constant(cg.grade_photo(photo, table)[None],
                                                   tf.float32)).numpy()
    viewed_then_graded = (cg.apply_grade(attacker.view(tf.constant(photo[None], tf.float32))
                                         / 255.0, table) * 255.0).numpy()
    difference = np.abs(graded_then_viewed - viewed_then_graded)
    assert difference.mean() < 0.25 and difference.max() < 2.0


@pytest.mark.parametrize("ensemble_loss", ["sum", "softmin"])
def test_the_fooling_term_adds_the_members_up_or_takes_their_soft_minimum(rng, ensemble_loss):
    """With every other term weighted 0, the total is minus the fooling term: the members'
    summed losses, or n times their soft minimum (numpy reference), averaged over photos."""
    attackers = (tiny_attacker(), other_attacker())
    config = cg.ColorLUTConfig(lattice=5, look_weight=0.0, smoothness=0.0, bound_weight=0.0,
                                 eot_samples=1, ensemble_loss=ensemble_loss)
    attack = cg.ColorLUT(attackers, config)
    photos = tf.constant(rng.integers(0, 256, (3, 40, 50, 3)).astype(np.float32))
    table = np.clip(cg.identity_table(5) + rng.normal(0, 0.2, (5, 5, 5, 3)), 0, 1).astype(
        np.float32)
    total, losses, _, _ = attack.objective(photos, table, fooling.clean_labels(attackers, photos),
                                           tf.constant([1, 2]))
    members = np.stack([loss.numpy() for loss in losses]).astype(np.float64)  # [2, 3]
    assert np.ptp(members) > 0.1  # the members disagree, so the two rules differ
    if ensemble_loss == "sum":
        expected = -members.sum(0).mean()
    else:
        expected = (2 * np.log(np.exp(-members).sum(0))).mean()
    np.testing.assert_allclose(float(total), expected, rtol=1e-5)
    with pytest.raises(ValueError, match="ensemble_loss"):
        cg.ColorLUTConfig(ensemble_loss="max")


def test_the_colour_attacks_working_copy_is_small_unless_nima_needs_its_input_size():
    from types import SimpleNamespace

    from pp_tf.models import nima
    from pp_tf.protections import _color as colour_protection

    size = colour_protection.color_working_size
    assert size(SimpleNamespace(working_size=0, nima=None)) == 128
    assert size(SimpleNamespace(working_size=0, nima="nima.keras")) == nima.INPUT_SIZE == 224
    assert size(SimpleNamespace(working_size=300, nima="nima.keras")) == 300
