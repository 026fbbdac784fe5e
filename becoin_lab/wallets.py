"""The lab's wallets: named Ed25519 keys, made on first use and kept in data_dir.

Each wallet's private key lives in ``data_dir/wallets/NAME.key`` (64 hex characters, file
mode 0600), so a later run with the same data_dir reuses it. A wallet's address is its public
key under both rules: strict nodes need one, and classic labs then show the same addresses.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from becoin_core import strict
from becoin_lab.errors import LabError

KEY_FILE_MODE = 0o600


@dataclass(frozen=True)
class Wallet:
    name: str
    public_key: str
    private_key: str

    def sign(self, receiver: str, amount: Any, sequence: int) -> dict[str, Any]:
        return strict.sign_transaction(self.private_key, receiver, amount, sequence)


class WalletBook:
    """Named wallets, each key made on first use. Thread-safe."""

    def __init__(self, folder: Path, names: list[str]) -> None:
        self.folder = Path(folder)
        self.names = list(names)
        self._wallets: dict[str, Wallet] = {}
        self._lock = threading.Lock()
        self.sequence_locks = {name: threading.Lock() for name in self.names}

    def __contains__(self, name: object) -> bool:
        return name in self.names

    def __len__(self) -> int:
        return len(self.names)

    def get(self, name: str) -> Wallet:
        if name not in self.names:
            known = ", ".join(self.names) or "none: add [[wallets]] to lab.toml"
            raise LabError(f"no wallet named '{name}' (wallets: {known})")
        with self._lock:
            if name not in self._wallets:
                self._wallets[name] = self._load_or_make(name)
            return self._wallets[name]

    def public_key(self, name: str) -> str:
        return self.get(name).public_key

    def keys(self) -> dict[str, str]:
        """Wallet name -> public key, in lab.toml order (makes missing keys)."""
        return {name: self.public_key(name) for name in self.names}

    def address(self, name_or_address: str) -> str:
        """A wallet's public key for its name; anything else as it is."""
        if name_or_address in self.names:
            return self.public_key(name_or_address)
        return name_or_address

    def name_of(self, address: str) -> str | None:
        """The wallet whose public key this is (keys made so far only), else None."""
        with self._lock:
            for wallet in self._wallets.values():
                if wallet.public_key == address:
                    return wallet.name
        return None

    def path(self, name: str) -> Path:
        return self.folder / f"{name}.key"

    def _load_or_make(self, name: str) -> Wallet:
        path = self.path(name)
        try:
            private = path.read_text(encoding="ascii").strip()
        except FileNotFoundError:
            private = None
        except OSError as exc:
            raise LabError(f"wallet {name}: cannot read {path}: {exc.strerror or exc}") from None
        if private is not None:
            try:
                public = strict.public_key_of(private)
            except ValueError:
                raise LabError(
                    f"wallet {name}: {path} does not hold a private key (64 hex characters); "
                    "delete it to make a new wallet"
                ) from None
            return Wallet(name, public, private)
        private, public = strict.new_wallet()
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, KEY_FILE_MODE)
            with os.fdopen(fd, "w", encoding="ascii") as out:
                out.write(private + "\n")
            os.chmod(tmp, KEY_FILE_MODE)  # whatever the umask
            os.replace(tmp, path)
        except OSError as exc:
            raise LabError(f"wallet {name}: cannot write {path}: {exc.strerror or exc}") from None
        return Wallet(name, public, private)
