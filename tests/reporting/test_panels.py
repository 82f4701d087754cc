def test_panels_carry_a_legend_of_the_class_colours(tmp_path, monkeypatch):
    import numpy as np
    from PIL import Image

    import tvseg.reporting.panels as panels

    for kind in ("image", "truth", "Unet1", "RUnet1"):
        (tmp_path / "panels" / "clean").mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(tmp_path / "panels" / "clean" / f"001__{kind}.png")
    drawn = []
    monkeypatch.setattr(panels, "save_figure", lambda fig, *args, **kwargs: drawn.append(fig))
    panels.plot_qualitative([tmp_path / "panels"], tmp_path / "p.png", ("clean",), dataset="wbc")
    assert [t.get_text() for t in drawn[0].legends[0].get_texts()] == ["background", "cytoplasm", "nucleus"]
