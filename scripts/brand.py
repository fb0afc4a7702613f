"""Draw the integration's brand images: brand/icon.png (256x256) and brand/logo.png."""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

BRAND = (
    Path(__file__).parent.parent
    / "custom_components"
    / "espresso_maintenance"
    / "brand"
)
ESPRESSO = (92, 58, 33, 255)
CREMA = (201, 140, 70, 255)
STEEL = (70, 90, 110, 255)


def draw_cup(draw: ImageDraw.ImageDraw, left: int, top: int, size: int) -> None:
    """Draw a cup of espresso with a wrench-shaped steam curl, in a square."""
    unit = size / 16
    # Cup body and handle.
    draw.rounded_rectangle(
        (left + 2 * unit, top + 7 * unit, left + 11 * unit, top + 14 * unit),
        radius=int(2 * unit),
        fill=ESPRESSO,
    )
    draw.ellipse(
        (left + 9.5 * unit, top + 8 * unit, left + 14 * unit, top + 12.5 * unit),
        outline=ESPRESSO,
        width=int(unit),
    )
    # Crema.
    draw.ellipse(
        (left + 2.6 * unit, top + 6.2 * unit, left + 10.4 * unit, top + 8.2 * unit),
        fill=CREMA,
    )
    # Saucer.
    draw.rounded_rectangle(
        (left + 1 * unit, top + 14.2 * unit, left + 13 * unit, top + 15 * unit),
        radius=int(unit / 2),
        fill=STEEL,
    )
    # Steam: two curls.
    for offset in (4.5, 7.5):
        draw.arc(
            (
                left + offset * unit,
                top + 1 * unit,
                left + (offset + 2) * unit,
                top + 5.5 * unit,
            ),
            start=100,
            end=280,
            fill=STEEL,
            width=int(0.8 * unit),
        )


def main() -> None:
    """Write both images."""
    BRAND.mkdir(exist_ok=True)
    icon = Image.new("RGBA", (256, 256), (0, 0, 0, 0))
    draw_cup(ImageDraw.Draw(icon), 0, 0, 256)
    icon.save(BRAND / "icon.png")
    icon.resize((512, 512), Image.Resampling.LANCZOS).save(BRAND / "icon@2x.png")

    logo = Image.new("RGBA", (256, 256), (0, 0, 0, 0))
    draw_cup(ImageDraw.Draw(logo), 0, 0, 256)
    logo.save(BRAND / "logo.png")


if __name__ == "__main__":
    main()
