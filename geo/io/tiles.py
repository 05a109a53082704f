"""Offline basemaps: serve a local tile folder or MBTiles file to the map on this computer.

Planning offices often sit on isolated government networks: no online basemap loads there, but
the surveying department usually holds tiles (an XYZ folder cut by a GIS, or an MBTiles file from
QGIS "Generate XYZ tiles" / MapTiler / gdal2tiles). This module reads them and serves them over
HTTP on the loopback interface, so Leaflet can load them as any tile layer:
``http://127.0.0.1:PORT/{z}/{x}/{y}``.

- A folder: ``{z}/{x}/{y}.png`` (or ``.jpg``, ``.jpeg``, ``.webp``), XYZ numbering (row 0 at the
  north, as OpenStreetMap and gdal2tiles ``--xyz``).
- An MBTiles file (the MBTiles 1.3 specification, an SQLite database): table ``tiles`` with
  ``zoom_level, tile_column, tile_row, tile_data``, rows numbered TMS-style from the south
  (``tile_row = 2**z - 1 - y``); ``metadata`` gives ``format``, ``minzoom``, ``maxzoom``.
  Opened read-only; never written.

Only the three integers of a request are used to find a tile: no path from the request reaches
the file system. The server binds to 127.0.0.1 (the app's own address, see
``.streamlit/config.toml``), so the browser must run on the same computer as the app.

The tiles must be in Web Mercator (EPSG:3857), as every Leaflet tile layer; this is the module
for tile I/O, the one exception to :mod:`geo.io` being the only file access.
Links inside a tile folder that point outside it are refused; MBTiles zooms may be written
``"18.0"``. May import: geo.core and the standard library.
"""

from __future__ import annotations

import re
import sqlite3
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from geo.core.errors import InputError
from geo.core.messages import msg

#: Tile formats by file suffix / MBTiles ``format`` metadata.
TILE_TYPES = {
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "webp": "image/webp",
}
_REQUEST = re.compile(r"^/(\d{1,2})/(\d{1,9})/(\d{1,9})(?:\.[a-z]{3,4})?$")


def _read_only(path: Path) -> sqlite3.Connection:
    """Open an MBTiles (SQLite) file read-only: never written, no journal left beside it."""
    return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)


@dataclass
class TileSource:
    """A local tile set: an XYZ folder or an MBTiles file.

    Attributes
    ----------
    path
        The folder or ``.mbtiles`` file.
    kind
        ``"folder"`` or ``"mbtiles"``.
    image_type
        MIME type of the tiles (``image/png`` ...).
    min_zoom, max_zoom
        Zoom levels present.
    name
        A label for the layer control (MBTiles ``name`` metadata, else the file name).
    """

    path: Path
    kind: str
    image_type: str
    min_zoom: int
    max_zoom: int
    name: str
    _suffix: str = ""

    @classmethod
    def open(cls, path: str | Path) -> TileSource:
        """Open a tile folder or MBTiles file, checking it holds tiles.

        Raises
        ------
        InputError
            If the path does not exist, is neither, or holds no tile.
        """
        path = Path(str(path).strip()).expanduser()
        if not path.exists():
            raise InputError(
                "file or folder not found", source=str(path), fix="check the tile folder path"
            )
        if path.is_dir():
            return cls._open_folder(path)
        if path.suffix.lower() == ".mbtiles":
            return cls._open_mbtiles(path)
        raise InputError(
            "not a tile folder or an .mbtiles file",
            source=path.name,
            fix="give a folder of {z}/{x}/{y}.png tiles or an .mbtiles file",
        )

    @classmethod
    def _open_folder(cls, path: Path) -> TileSource:
        root = path.resolve()
        outside = [
            p for p in path.glob("*/*/*") if p.is_symlink() and not p.resolve().is_relative_to(root)
        ]
        outside += [
            p for p in path.glob("*") if p.is_symlink() and not p.resolve().is_relative_to(root)
        ]
        if outside:
            raise InputError(
                "the tile folder holds links pointing outside it",
                source=path.name,
                where=str(outside[0].relative_to(path)),
                fix="copy the tiles into the folder instead of linking them",
            )
        zooms = sorted(int(p.name) for p in path.iterdir() if p.is_dir() and p.name.isdigit())
        for zoom in zooms:
            sample = next((f for f in (path / str(zoom)).glob("*/*.*") if f.is_file()), None)
            if sample is not None and sample.suffix.lower().lstrip(".") in TILE_TYPES:
                suffix = sample.suffix.lower().lstrip(".")
                return cls(
                    path=path,
                    kind="folder",
                    image_type=TILE_TYPES[suffix],
                    min_zoom=zooms[0],
                    max_zoom=zooms[-1],
                    name=path.name,
                    _suffix=sample.suffix,
                )
        raise InputError(
            "no {z}/{x}/{y}.png (or .jpg, .webp) tile in the folder",
            source=path.name,
            fix="cut XYZ tiles into the folder (e.g. QGIS 'Generate XYZ tiles (Directory)' or "
            "gdal2tiles --xyz), or give an .mbtiles file",
        )

    @classmethod
    def _open_mbtiles(cls, path: Path) -> TileSource:
        try:
            connection = _read_only(path)
            try:
                meta = dict(connection.execute("SELECT name, value FROM metadata").fetchall())
                low, high = connection.execute(
                    "SELECT MIN(zoom_level), MAX(zoom_level) FROM tiles"
                ).fetchone()
            finally:
                connection.close()
        except sqlite3.Error as exc:
            raise InputError(
                msg("not a readable MBTiles file ({exc})", exc=exc),
                source=path.name,
                fix="export the tiles again as MBTiles (tables metadata and tiles)",
            ) from exc
        if low is None:
            raise InputError("the MBTiles file holds no tile", source=path.name, fix="export again")
        image = str(meta.get("format", "png")).lower()
        if image not in TILE_TYPES:
            raise InputError(
                msg(
                    "tiles in format {image!r}: only raster tiles (png, jpg, webp) are drawn",
                    image=image,
                ),
                source=path.name,
                fix="export raster tiles; vector tiles (pbf) need a style renderer",
            )
        return cls(
            path=path,
            kind="mbtiles",
            image_type=TILE_TYPES[image],
            min_zoom=_zoom(meta.get("minzoom"), low),
            max_zoom=_zoom(meta.get("maxzoom"), high),
            name=str(meta.get("name") or path.stem),
        )

    def tile(self, z: int, x: int, y: int) -> bytes | None:
        """Return the tile at XYZ ``z/x/y`` (row 0 at the north), or None where there is none."""
        if not (0 <= z <= 30 and 0 <= x < 2**z and 0 <= y < 2**z):
            return None
        if self.kind == "folder":
            target = self.path / str(z) / str(x) / f"{y}{self._suffix}"
            if not target.is_file():
                return None
            # a link inside the folder that points outside it is never served (issue 16)
            if not target.resolve().is_relative_to(self.path.resolve()):
                return None
            return target.read_bytes()
        # a connection per request: the server answers from several threads
        connection = _read_only(self.path)
        try:
            row = connection.execute(
                "SELECT tile_data FROM tiles WHERE zoom_level=? AND tile_column=? AND tile_row=?",
                (z, x, 2**z - 1 - y),
            ).fetchone()
        finally:
            connection.close()
        return bytes(row[0]) if row else None


class _Handler(BaseHTTPRequestHandler):
    source: TileSource

    def do_GET(self) -> None:
        match = _REQUEST.match(self.path.split("?", 1)[0])
        data = self.source.tile(*(int(g) for g in match.groups())) if match else None
        if data is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", self.source.image_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "max-age=3600")
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: one line per tile would flood the app's console."""


@dataclass
class TileServer:
    """A running loopback tile server; ``url`` is the Leaflet template ``.../{z}/{x}/{y}``."""

    source: TileSource
    url: str
    _server: ThreadingHTTPServer = field(repr=False)

    def close(self) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._server.server_close()


def serve_tiles(source: TileSource, *, host: str = "127.0.0.1", port: int = 0) -> TileServer:
    """Serve ``source`` over HTTP in a background thread; port 0 picks a free port.

    Raises
    ------
    InputError
        If the port cannot be opened.
    """
    handler = type("TileHandler", (_Handler,), {"source": source})
    try:
        server = ThreadingHTTPServer((host, port), handler)
    except OSError as exc:
        raise InputError(
            msg(
                "cannot open a tile server on {host}:{port} ({exc})", host=host, port=port, exc=exc
            ),
            fix="choose another port",
        ) from exc
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="lianpian-tiles", daemon=True).start()
    bound_port = server.server_address[1]
    return TileServer(
        source=source, url=f"http://{host}:{bound_port}/{{z}}/{{x}}/{{y}}", _server=server
    )


def _zoom(value: object, fallback: int) -> int:
    """An MBTiles zoom from metadata text (``"18"``, ``"18.0"``); the tiles' own level if unusable."""
    try:
        number = float(str(value).strip())
    except (TypeError, ValueError):
        return int(fallback)
    return int(number) if number == number and 0 <= number <= 30 else int(fallback)
