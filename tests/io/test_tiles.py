"""Offline basemaps (geo.io.tiles): a tile folder and an MBTiles file served on the loopback."""

from __future__ import annotations

import io as _io
import sqlite3
import urllib.error
import urllib.request

import pytest
from PIL import Image

from geo.core.errors import InputError
from geo.io.tiles import TileSource, serve_tiles


def _png(colour: str) -> bytes:
    buffer = _io.BytesIO()
    Image.new("RGB", (256, 256), colour).save(buffer, format="PNG")
    return buffer.getvalue()


def make_tile_folder(root, tiles: dict[tuple[int, int, int], bytes]):
    for (z, x, y), data in tiles.items():
        folder = root / str(z) / str(x)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{y}.png").write_bytes(data)
    return root


def make_mbtiles(path, tiles: dict[tuple[int, int, int], bytes], fmt: str = "png"):
    """An MBTiles 1.3 file; ``tiles`` keyed by XYZ (row 0 north), stored TMS (row 0 south)."""
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE metadata (name text, value text)")
        db.execute(
            "CREATE TABLE tiles (zoom_level integer, tile_column integer, tile_row integer, "
            "tile_data blob)"
        )
        zooms = [z for z, _, _ in tiles]
        meta = {"name": "测试底图", "format": fmt, "minzoom": min(zooms), "maxzoom": max(zooms)}
        db.executemany("INSERT INTO metadata VALUES (?, ?)", [(k, str(v)) for k, v in meta.items()])
        db.executemany(
            "INSERT INTO tiles VALUES (?, ?, ?, ?)",
            [(z, x, 2**z - 1 - y, data) for (z, x, y), data in tiles.items()],
        )
    db.close()
    return path


def _get(url: str) -> tuple[int, bytes, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read(), response.headers["Content-Type"]
    except urllib.error.HTTPError as exc:
        return exc.code, b"", ""


@pytest.mark.parametrize("kind", ["folder", "mbtiles"])
def test_tiles_are_served_by_xyz_numbers(tmp_path, kind):
    red, blue = _png("red"), _png("blue")
    # at zoom 1, XYZ row 0 is the north: TMS row 1 in the MBTiles file
    tiles = {(1, 0, 0): red, (1, 1, 1): blue, (3, 5, 2): red}
    if kind == "folder":
        source = TileSource.open(make_tile_folder(tmp_path / "tiles", tiles))
    else:
        source = TileSource.open(make_mbtiles(tmp_path / "city.mbtiles", tiles))
    assert (source.kind, source.min_zoom, source.max_zoom) == (kind, 1, 3)
    assert source.image_type == "image/png"
    server = serve_tiles(source)
    try:
        assert server.url.startswith("http://127.0.0.1:") and server.url.endswith("/{z}/{x}/{y}")
        base = server.url.split("/{z}")[0]
        assert _get(f"{base}/1/0/0") == (200, red, "image/png")
        assert _get(f"{base}/1/1/1.png")[1] == blue
        assert _get(f"{base}/3/5/2")[1] == red
        assert _get(f"{base}/1/1/0")[0] == 404  # no such tile
        assert _get(f"{base}/1/5/0")[0] == 404  # outside the zoom's grid
        for hostile in ("/../../etc/passwd", "/1/0/../../x", "/%2e%2e/1/0", "/1/0/0;rm"):
            assert _get(base + hostile)[0] == 404
    finally:
        server.close()


def test_bad_tile_sources_are_clear_errors(tmp_path):
    with pytest.raises(InputError, match="not found"):
        TileSource.open(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match=r"no \{z\}/\{x\}/\{y\}\.png"):
        TileSource.open(tmp_path / "empty")
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(InputError, match="not a tile folder"):
        TileSource.open(tmp_path / "notes.txt")
    (tmp_path / "broken.mbtiles").write_bytes(b"not sqlite at all" * 10)
    with pytest.raises(InputError, match="not a readable MBTiles"):
        TileSource.open(tmp_path / "broken.mbtiles")
    vector = make_mbtiles(tmp_path / "vector.mbtiles", {(0, 0, 0): b"x"}, fmt="pbf")
    with pytest.raises(InputError, match="only raster tiles"):
        TileSource.open(vector)


def test_mbtiles_is_opened_read_only(tmp_path):
    path = make_mbtiles(tmp_path / "city.mbtiles", {(0, 0, 0): _png("red")})
    before = path.read_bytes()
    source = TileSource.open(path)
    assert source.name == "测试底图"
    assert source.tile(0, 0, 0) is not None
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["city.mbtiles"]  # no journal left
