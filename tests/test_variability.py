"""Static and dynamic hypernets: the 2×2 map."""

import matplotlib.pyplot as plt

from hyperviz.lessons.variability import static_dynamic_map


def test_the_map_has_one_static_and_three_dynamic_cells():
    figure = static_dynamic_map({("dynamic", "dynamic"): "my example"})
    texts = [t.get_text() for t in figure.axes[0].texts]
    assert texts.count("STATIC hypernet") == 1
    assert texts.count("DYNAMIC hypernet") == 3
    assert "my example" in texts
    assert any(t.startswith("task ids → one fixed target") for t in texts)
    assert len(figure.axes[0].patches) == 4
    plt.close(figure)
