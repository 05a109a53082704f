"""Uploads saved safely (geo.io.stage_upload): names, types, zip slip, symlinks, zip bombs."""

from __future__ import annotations

import io as _io
import stat
import zipfile

import geopandas as gpd
import pytest
from shapely.geometry import box

from geo import io
from geo.core.errors import InputError, QualityReport


def _zip(members: dict[str, bytes], *, symlink: str | None = None) -> bytes:
    buffer = _io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
        if symlink:
            info = zipfile.ZipInfo(symlink)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, "/etc/passwd")
    return buffer.getvalue()


def _shapefile_bytes(tmp_path) -> dict[str, bytes]:
    folder = tmp_path / "shp"
    folder.mkdir()
    gdf = gpd.GeoDataFrame(
        {"name": ["甲小区", "乙小区"]},
        geometry=[box(500000, 3340000, 500100, 3340100), box(500110, 3340000, 500200, 3340100)],
        crs="EPSG:4549",
    )
    gdf.to_file(folder / "estates.shp", engine="pyogrio")
    return {p.name: p.read_bytes() for p in folder.iterdir()}


def test_plain_upload_keeps_only_the_file_name(tmp_path):
    dest = tmp_path / "up"
    dest.mkdir()
    path = io.stage_upload("../../etc/survey.csv", "小区名称\n甲\n".encode(), dest)
    assert path == dest / "survey.csv"
    assert path.read_text(encoding="utf-8") == "小区名称\n甲\n"
    assert not (tmp_path / "etc").exists()


@pytest.mark.parametrize(
    ("name", "data", "match"),
    [
        ("tool.exe", b"MZ", "unsupported file type '.exe'"),
        ("noext", b"x", "unsupported file type"),
        ("empty.gpkg", b"", "empty"),
        ("..", b"x", "no file name"),
    ],
)
def test_bad_uploads_are_input_errors(tmp_path, name, data, match):
    with pytest.raises(InputError, match=match):
        io.stage_upload(name, data, tmp_path)


def test_too_large_upload(tmp_path):
    with pytest.raises(InputError, match="larger than"):
        io.stage_upload("a.geojson", b"x" * 2048, tmp_path, max_bytes=1024)


def test_zipped_shapefile_unpacks_to_a_readable_shp(tmp_path):
    dest = tmp_path / "up"
    dest.mkdir()
    members = {f"layer/{k}": v for k, v in _shapefile_bytes(tmp_path).items()}
    members["__MACOSX/layer/._estates.shp"] = b"junk"
    path = io.stage_upload("estates.zip", _zip(members), dest)
    assert path.name == "estates.shp"
    assert path.is_relative_to(dest)
    estates = io.read_estates(path, quality=QualityReport())
    assert sorted(estates["name"]) == ["乙小区", "甲小区"]


def test_zip_slip_is_refused_and_nothing_escapes(tmp_path):
    dest = tmp_path / "up"
    dest.mkdir()
    with pytest.raises(InputError, match="zip slip"):
        io.stage_upload("evil.zip", _zip({"../../evil.shp": b"x"}), dest)
    assert not (tmp_path / "evil.shp").exists()
    with pytest.raises(InputError, match="absolute path"):
        io.stage_upload("abs.zip", _zip({"/tmp/abs.shp": b"x"}), dest)


def test_symlink_in_zip_is_refused(tmp_path):
    with pytest.raises(InputError, match="symbolic link"):
        io.stage_upload("link.zip", _zip({"a.shp": b"x"}, symlink="a.dbf"), tmp_path)


def test_zip_bomb_is_refused(tmp_path):
    bomb = _zip({"a.geojson": b"\0" * (8 << 20)})  # 8 MB of zeros compress about 1000:1
    assert len(bomb) < 100_000
    with pytest.raises(InputError, match="zip bomb"):
        io.stage_upload("bomb.zip", bomb, tmp_path)
    with pytest.raises(InputError, match="over the limit"):
        io.stage_upload(
            "big.zip", _zip({"b.geojson": b"{}" * 5000}), tmp_path, max_unpacked_bytes=1000
        )


def test_corrupt_zip_and_zip_without_dataset(tmp_path):
    with pytest.raises(InputError, match="not a readable zip"):
        io.stage_upload("broken.zip", b"PK\x03\x04 not really", tmp_path)
    with pytest.raises(InputError, match=r"holds no \.shp"):
        io.stage_upload("readme.zip", _zip({"readme.txt": b"hello"}), tmp_path)


def test_too_many_members(tmp_path):
    members = {f"f{i}.txt": b"x" for i in range(5)}
    with pytest.raises(InputError, match="5 files"):
        io.stage_upload("many.zip", _zip(members), tmp_path, max_members=4)


# --------------------------------------------------------------------------- several files


def test_shapefile_parts_uploaded_together(tmp_path):
    parts = _shapefile_bytes(tmp_path)
    dest = tmp_path / "dest"
    dest.mkdir()
    staged = io.stage_uploads(sorted(parts.items()), dest)
    assert [p.name for p in staged] == ["estates.shp"]
    assert sorted(p.name for p in dest.iterdir()) == sorted(parts)
    gdf = io.read_vector(staged[0])
    assert list(gdf["name"]) == ["甲小区", "乙小区"]


def test_several_datasets_and_a_shapefile(tmp_path):
    parts = _shapefile_bytes(tmp_path)
    files = [("river.geojson", b'{"type": "FeatureCollection", "features": []}')]
    files += sorted(parts.items())
    dest = tmp_path / "dest"
    dest.mkdir()
    assert [p.name for p in io.stage_uploads(files, dest)] == ["river.geojson", "estates.shp"]


@pytest.mark.parametrize(
    ("names", "message"),
    [
        (["estates.dbf", "estates.prj"], "without its .shp"),
        (["other.shp", "estates.dbf"], "without its .shp"),
        (["a.geojson", "sub/a.geojson"], "uploaded twice"),
        (["a.exe"], "unsupported file type"),
    ],
)
def test_bad_file_sets_are_refused(tmp_path, names, message):
    with pytest.raises(InputError, match=message):
        io.stage_uploads([(n, b"x" * 10) for n in names], tmp_path)


def test_total_size_of_several_files(tmp_path):
    files = [("a.geojson", b"x" * 600), ("b.geojson", b"x" * 600)]
    with pytest.raises(InputError, match="together"):
        io.stage_uploads(files, tmp_path, max_bytes=1000)
    assert not list(tmp_path.iterdir())


def test_layer_names(tmp_path):
    target = tmp_path / "two.gpkg"
    frame = gpd.GeoDataFrame({"a": [1]}, geometry=[box(0, 0, 1, 1)], crs="EPSG:4549")
    io.write_layers(target, {"estates": frame, "water": frame})
    assert io.layer_names(f"{target}::estates") == ["estates", "water"]
    broken = tmp_path / "broken.gpkg"
    broken.write_bytes(b"SQLite format 3\x00" + b"\x00" * 100)
    with pytest.raises(InputError, match="cannot open"):
        io.layer_names(broken)
