"""Where studies' Ray results live: a local folder or a URI every node reaches.

`--storage` is a path, or a pyarrow filesystem URI such as s3://bucket/studies, with
query options for S3-compatible servers (MinIO, moto):
s3://bucket/studies?endpoint_override=127.0.0.1:9000&scheme=http. Credentials come
from the usual AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY environment.
"""

import json
from pathlib import Path
from typing import Any

import pyarrow.fs as pafs


class ResultsStore:
    def __init__(self, location: str | Path):
        self.location = str(location)
        if self.is_uri:
            self.filesystem, self.root = pafs.FileSystem.from_uri(self.location)
        else:
            self.root = str(Path(location).expanduser().resolve())
            self.filesystem = pafs.LocalFileSystem()

    @property
    def is_uri(self) -> bool:
        return "://" in self.location

    @property
    def ray_filesystem(self) -> pafs.FileSystem | None:
        """What Ray's storage_filesystem takes: None lets Ray use a local path as it is."""
        return self.filesystem if self.is_uri else None

    def __str__(self) -> str:
        return self.location

    def display(self, *parts: str) -> str:
        """A path to show users: the URI's scheme kept, its query left out."""
        if not self.is_uri:
            return self.path(*parts)
        return f"{self.location.split('://')[0]}://{self.path(*parts)}"

    def path(self, *parts: str) -> str:
        """A path on the storage's filesystem, as Ray and pyarrow take it."""
        return "/".join([self.root.rstrip("/"), *parts])

    def exists(self, *parts: str) -> bool:
        return self.filesystem.get_file_info(self.path(*parts)).type != pafs.FileType.NotFound

    def write_json(self, data: Any, *parts: str) -> None:
        self.filesystem.create_dir(self.path(*parts[:-1]), recursive=True)
        with self.filesystem.open_output_stream(self.path(*parts)) as stream:
            stream.write(json.dumps(data, indent=2).encode())

    def read_json(self, *parts: str) -> Any:
        with self.filesystem.open_input_stream(self.path(*parts)) as stream:
            return json.loads(stream.read().decode())

    def folders_with(self, file_name: str) -> list[str]:
        """Names of the folders directly under the root that hold `file_name`."""
        selector = pafs.FileSelector(self.root, allow_not_found=True)
        return sorted(info.base_name for info in self.filesystem.get_file_info(selector)
                      if info.type == pafs.FileType.Directory
                      and self.exists(info.base_name, file_name))
