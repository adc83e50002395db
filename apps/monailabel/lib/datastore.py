"""MONAI Label's local datastore, refusing names that would leave the studies folder.

The datastore builds file paths from request parameters: an image id becomes
``<studies>/<id><ext>``, a label tag a folder under ``<studies>/labels``. MONAI Label takes
them as given, so ``PUT /datastore/image?image=../../x`` or a label tag ``../..`` would
write outside the studies, and a study that is a symbolic link would serve a file from
elsewhere. :class:`MedunetDatastore` refuses such names (HTTP 400 with the reason) and
never hands out a path outside the studies folder.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from fastapi import HTTPException
from monailabel.datastore.local import LocalDatastore

__all__ = ["MedunetDatastore", "safe_name"]


def safe_name(value: str | None, what: str) -> str | None:
    """``value`` if it is a plain name (no folder parts, not absolute); HTTP 400 if not."""
    if value is None:
        return None
    text = str(value)
    if (
        not text
        or text in (".", "..")
        or "/" in text
        or "\\" in text
        or "\0" in text
        or os.path.isabs(text)
        or Path(text).drive
    ):
        raise HTTPException(
            status_code=400,
            detail=f"{what} {value!r} is not a plain name; give a name without folders or '..'.",
        )
    return text


class MedunetDatastore(LocalDatastore):
    """:class:`LocalDatastore` that keeps every path inside the studies folder."""

    def _inside(self, path: str, what: str) -> str:
        if not path:
            return path
        root = Path(self._datastore_path).resolve()
        real = Path(path).resolve()
        if real != root and root not in real.parents:
            raise HTTPException(
                status_code=400,
                detail=f"{what} leads outside the studies folder ({real}); refused.",
            )
        return path

    def datalist(self, full_path: bool = True) -> list[dict[str, Any]]:
        """The labelled studies, without any that lead outside the studies folder."""
        root = Path(self._datastore_path).resolve()
        kept = []
        for item in super().datalist(full_path):
            paths = [Path(item[k]).resolve() for k in ("image", "label") if k in item]
            if all(p == root or root in p.parents for p in paths) or not full_path:
                kept.append(item)
        return kept

    def add_image(self, image_id: str, image_filename: str, image_info: dict[str, Any]) -> str:
        safe_name(image_id or None, "image id")
        safe_name(os.path.basename(image_filename), "image file")
        return super().add_image(image_id, image_filename, image_info)

    def save_label(
        self, image_id: str, label_filename: str, label_tag: str, label_info: dict[str, Any]
    ) -> str:
        safe_name(image_id, "image id")
        safe_name(label_tag, "label tag")
        return super().save_label(image_id, label_filename, label_tag, label_info)

    def remove_image(self, image_id: str) -> None:
        safe_name(image_id, "image id")
        return super().remove_image(image_id)

    def remove_label(self, label_id: str, label_tag: str) -> None:
        safe_name(label_id, "label id")
        safe_name(label_tag, "label tag")
        return super().remove_label(label_id, label_tag)

    def get_image_uri(self, image_id: str) -> str:
        safe_name(image_id, "image id")
        return self._inside(super().get_image_uri(image_id), f"image {image_id!r}")

    def get_label_uri(self, label_id: str, label_tag: str) -> str:
        safe_name(label_id, "label id")
        safe_name(label_tag, "label tag")
        return self._inside(super().get_label_uri(label_id, label_tag), f"label {label_id!r}")
