"""A `manual_dir` that the caller names is used or refused, never ignored."""

import hashlib
import json
import os
import warnings

from etils import epath

_SHOWN_NAMES = 10  # Names of found files quoted in an error message.
# Beside the prepared data: the manual folder they were prepared from.
_SOURCE_FILE = "keras_rnncr_source.json"


def warn_if_not_pinned(path, info, whose):
    """Warns when a file of `manual_dir` is not the one `checksums.tsv` pins
    (`info`, a TFDS `UrlInfo`), e.g. a truncated copy or another dataset's.

    A warning, not an error: a folder may hold a deliberately different
    corpus in the same format (the tests' small fixtures do).
    """
    data = path.read_bytes()
    size, sha256 = int(info.size), info.checksum
    if len(data) == size and hashlib.sha256(data).hexdigest() == sha256:
        return
    warnings.warn(
        f"{path} is not {whose} {path.name} ({len(data):,} bytes; the pinned one "
        f"has {size:,}, sha256 {sha256}): a truncated or different copy. It is "
        "read as it is, so results are not comparable with published figures.",
        stacklevel=3,
    )


class ManualDirMixin:
    """Mixin for a TFDS builder whose `manual_dir` is optional.

    TFDS always gives a builder a manual folder: the caller's
    `DownloadConfig(manual_dir=...)`, or else `<data_dir>/downloads/manual`,
    which all datasets share. A builder that falls back to a download when
    the folder lacks its files would silently ignore a folder the caller
    named with a typo or the wrong file names. This mixin tells the two
    apart: `_manual_folder` returns the folder and whether the caller named
    it, so that the builder can refuse a named folder without its files
    (`_missing_files_error`) and still download when only the shared default
    folder lacks them.
    """

    _requested_manual_dir = None
    _source_folder = None

    def download_and_prepare(self, *, download_config=None, **kwargs):
        """Remembers `download_config.manual_dir`, then prepares as usual.

        A named folder that does not exist is refused even when the data are
        already prepared (TFDS then skips the builder's code). An existing
        one is not read again once the data are prepared: TFDS prepares a
        dataset once per `data_dir`, so reading another copy needs another
        `data_dir` (or the prepared one deleted). A warning says so, unless the
        folder is the one the data were prepared from (recorded beside them).
        """
        self._requested_manual_dir = getattr(download_config, "manual_dir", None)
        self._source_folder = None
        try:
            prepared = self.is_prepared()
            # These modes delete the prepared data and prepare them again
            # (TFDS's `download_and_prepare`), so the folder is read.
            regenerate = prepared and _overwrites(download_config)
            if self._requested_manual_dir is not None:
                folder, _ = self._manual_folder(None)  # raises for a missing one
                source = self._prepared_source() if prepared else None
                if prepared and not regenerate and source != str(folder.resolve()):
                    whence = {
                        None: "from another source",  # prepared by older code
                        "": "from a download",
                    }.get(source, f"from {source}")
                    warnings.warn(
                        f"manual_dir {self._requested_manual_dir} is not read: "
                        f"{self.name} is already prepared in {self.data_path}, "
                        f"{whence}. To read this folder's files, prepare into "
                        "another data_dir (or delete that folder).",
                        stacklevel=2,
                    )
            result = super().download_and_prepare(
                download_config=download_config, **kwargs
            )
            if (not prepared or regenerate) and self.is_prepared():
                self._record_source()
            return result
        finally:
            self._requested_manual_dir = None
            self._source_folder = None

    def _reading(self, folder):
        """Called by the builder when it reads its files from `folder` (the
        named manual folder or TFDS's default one), to record it."""
        self._source_folder = folder

    def _record_source(self):
        """Writes where the data were prepared from beside them: the manual
        folder read (named or TFDS's default), resolved, or "" (a download)."""
        folder = self._source_folder
        source = "" if folder is None else str(epath.Path(folder).resolve())
        (epath.Path(self.data_path) / _SOURCE_FILE).write_text(
            json.dumps({"manual_dir": source})
        )

    def _prepared_source(self):
        """What `_record_source` wrote, or None (prepared by older code)."""
        try:
            text = (epath.Path(self.data_path) / _SOURCE_FILE).read_text()
            return json.loads(text)["manual_dir"]
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def _manual_folder(self, dl_manager):
        """Returns `(folder or None, named_by_caller)`.

        Raises:
            FileNotFoundError: if the caller named a folder that does not
                exist.
        """
        requested = self._requested_manual_dir
        if requested is not None:
            # As TFDS's `DownloadManager` reads it: `~` expanded.
            folder = epath.Path(os.path.expanduser(os.fspath(requested)))
            if not folder.is_dir():
                raise FileNotFoundError(
                    f"Argument `manual_dir` of {self.name} must be an existing "
                    f"folder. Received: manual_dir={str(requested)!r}"
                )
            return folder, True
        try:
            return dl_manager.manual_dir, False
        except AssertionError:  # The default folder is missing or empty.
            return None, False

    def _missing_files_error(self, folder, expected):
        """Returns the error for a named `folder` without the `expected` files.

        Args:
            folder: the caller's `manual_dir`.
            expected: str, what the folder should hold (e.g. "one of
                'a.mat' or 'b.pickle'").
        """
        names = sorted(
            path.name + ("/" if path.is_dir() else "") for path in folder.iterdir()
        )
        found = repr(names[:_SHOWN_NAMES])
        if len(names) > _SHOWN_NAMES:
            found = f"{found[:-1]}, ... ({len(names)} entries)]"
        name = self.name
        if self.builder_config is not None:
            name = f"{name}/{self.builder_config.name}"
        return FileNotFoundError(
            f"manual_dir {folder} does not hold the files of {name}: expected "
            f"{expected}. Found: {found}. Put the files there, or leave out "
            "`manual_dir` to download them."
        )


def _overwrites(download_config):
    """Whether `download_config`'s mode deletes prepared data and prepares
    them again (`FORCE_REDOWNLOAD`, `REUSE_CACHE_IF_EXISTS`)."""
    if download_config is None:
        return False
    import tensorflow_datasets as tfds

    mode = tfds.download.GenerateMode(download_config.download_mode)
    return mode.overwrite_dataset
