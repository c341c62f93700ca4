"""Load policy files, validate them, and index their versions by programme and date."""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from pydantic import ValidationError

from rules.decision import PolicyRef
from rules.schema import AwardPolicy, PolicyModel, VoucherPolicy

SHIPPED_POLICIES = Path(__file__).resolve().parent / "policies"


class PolicyError(Exception):
    """A policy file that cannot be used: its path, the key at fault and why."""

    def __init__(self, path: Path | str, key: str, reason: str) -> None:
        self.path = str(path)
        self.key = key
        self.reason = reason
        super().__init__(f"{self.path}: {key}: {reason}")


class PolicyErrors(Exception):
    """Several policy errors at once (loading a directory reports them all)."""

    def __init__(self, errors: list[PolicyError]) -> None:
        self.errors = errors
        super().__init__("\n".join(str(e) for e in errors))


@dataclass(frozen=True, slots=True)
class Policy:
    """A validated policy version together with the file it came from."""

    model: PolicyModel
    path: Path
    sha256: str
    ref: PolicyRef = field(init=False)

    def __post_init__(self) -> None:
        # Built once: every decision and trace line points at it.
        ref = PolicyRef(self.model.programme, self.model.version, self.path.name, self.sha256)
        object.__setattr__(self, "ref", ref)

    @property
    def programme(self) -> str:
        """The programme code, e.g. LN-CXQ."""
        return self.model.programme

    @property
    def version(self) -> str:
        """The version label, e.g. 2024.1."""
        return self.model.version

    @property
    def file(self) -> str:
        """The file name, as the trace shows it."""
        return self.ref.file


class _UniqueKeyLoader(yaml.SafeLoader):
    """yaml.SafeLoader that refuses a key written twice (PyYAML would keep the last silently)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:  # type: ignore[override]
        """Build the mapping after checking that no key repeats."""
        seen: set[object] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)  # type: ignore[no-untyped-call]
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} is written twice", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _key_of(loc: tuple[int | str, ...]) -> str:
    """Turn a pydantic error location into a dotted key such as services.testing.ratio."""
    parts = [str(p) for p in loc if p not in ("[key]",)]
    return ".".join(parts) or "(file)"


def _reason_of(error: dict[str, object]) -> str:
    """A short reason from a pydantic error (drop pydantic's 'Value error, ' prefix)."""
    message = str(error.get("msg", "invalid"))
    for prefix in ("Value error, ", "Assertion failed, "):
        if message.startswith(prefix):
            message = message[len(prefix) :]
    if error.get("type") == "extra_forbidden":
        message = "unknown key"
    if error.get("type") == "literal_error" and "[key]" in tuple(error.get("loc", ())):  # type: ignore[arg-type]
        message = f"unknown name: {message}"
    return message


def load_policy_file(path: Path | str) -> Policy:
    """Read and validate one policy file; raise PolicyErrors naming every problem."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise PolicyErrors([PolicyError(path, "(file)", f"cannot read: {exc.strerror}")]) from exc
    try:
        data = yaml.load(raw.decode("utf-8"), Loader=_UniqueKeyLoader)  # a SafeLoader subclass
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        # Keep the problem and its line; drop PyYAML's "<unicode string>" and the caret.
        reason = " ".join(str(exc).replace('in "<unicode string>", ', "").split()).rstrip(" ^")
        reason = reason or "not valid YAML"
        raise PolicyErrors([PolicyError(path, "(file)", f"not valid YAML: {reason}")]) from exc
    if not isinstance(data, dict):
        raise PolicyErrors([PolicyError(path, "(file)", "a policy file must be a mapping")])
    kind = data.get("kind")
    model_class: type[VoucherPolicy] | type[AwardPolicy]
    if kind == "voucher":
        model_class = VoucherPolicy
    elif kind == "award":
        model_class = AwardPolicy
    else:
        raise PolicyErrors([PolicyError(path, "kind", f"must be voucher or award, not {kind!r}")])
    try:
        model = model_class.model_validate(data)
    except ValidationError as exc:
        errors = [
            PolicyError(path, _key_of(tuple(e["loc"])), _reason_of(dict(e))) for e in exc.errors()
        ]
        raise PolicyErrors(errors) from exc
    return Policy(model=model, path=path, sha256=hashlib.sha256(raw).hexdigest())


class PolicySet:
    """Every loaded version, indexed by programme; versions of one programme never overlap."""

    def __init__(self, policies: Iterable[Policy]) -> None:
        by_programme: dict[str, list[Policy]] = {}
        for policy in policies:
            by_programme.setdefault(policy.programme, []).append(policy)
        for versions in by_programme.values():
            versions.sort(key=lambda p: p.model.effective_from)
        self._by_programme = by_programme
        errors = self._conflicts()
        if errors:
            raise PolicyErrors(errors)

    def _conflicts(self) -> list[PolicyError]:
        """Overlapping dates, repeated version labels or mixed kinds within a programme."""
        errors: list[PolicyError] = []
        for programme, versions in self._by_programme.items():
            labels: dict[str, Policy] = {}
            for policy in versions:
                if policy.version in labels:
                    errors.append(
                        PolicyError(
                            policy.path,
                            "version",
                            f"{programme} version {policy.version} is also in "
                            f"{labels[policy.version].path}",
                        )
                    )
                labels[policy.version] = policy
                if policy.model.kind != versions[0].model.kind:
                    errors.append(
                        PolicyError(
                            policy.path,
                            "kind",
                            f"{programme} is a {versions[0].model.kind} programme in "
                            f"{versions[0].path}",
                        )
                    )
            for earlier, later in itertools.pairwise(versions):
                end = earlier.model.effective_to
                if end is None or end >= later.model.effective_from:
                    errors.append(
                        PolicyError(
                            later.path,
                            "effective_from",
                            f"{programme} version {later.version} from "
                            f"{later.model.effective_from} overlaps version {earlier.version} "
                            f"({earlier.path}, in force to {end or 'open end'})",
                        )
                    )
        return errors

    def in_force(self, programme: str, on: dt.date) -> Policy | None:
        """The version of `programme` in force on `on`, or None when there is none."""
        for policy in self._by_programme.get(programme, ()):
            if policy.model.covers(on):
                return policy
        return None

    def programmes(self) -> list[str]:
        """Programme codes, sorted."""
        return sorted(self._by_programme)

    def versions(self, programme: str) -> list[Policy]:
        """The versions of one programme, oldest first."""
        return list(self._by_programme.get(programme, ()))

    def __iter__(self) -> Iterator[Policy]:
        for programme in self.programmes():
            yield from self._by_programme[programme]

    def __len__(self) -> int:
        return sum(len(v) for v in self._by_programme.values())


def policy_files(paths: Iterable[Path | str]) -> list[Path]:
    """Expand files and directories into the list of *.yaml / *.yml files, sorted per directory."""
    files: list[Path] = []
    for entry in paths:
        entry = Path(entry)
        if entry.is_dir():
            files.extend(sorted([*entry.glob("*.yaml"), *entry.glob("*.yml")]))
        else:
            files.append(entry)
    return files


def check_policies(paths: Iterable[Path | str]) -> tuple[PolicySet | None, list[PolicyError]]:
    """Load every file under `paths`; return the set (if all are good) and every problem found."""
    paths = list(paths)
    loaded: list[Policy] = []
    errors: list[PolicyError] = []
    files = policy_files(paths)
    for file in files:
        try:
            loaded.append(load_policy_file(file))
        except PolicyErrors as exc:
            errors.extend(exc.errors)
    if not files:
        where = ", ".join(str(p) for p in paths) or "."
        errors.append(PolicyError(where, "(file)", "no policy files found"))
    try:
        policy_set = PolicySet(loaded)
    except PolicyErrors as exc:
        errors.extend(exc.errors)
        policy_set = None
    return (None if errors else policy_set), errors


def load_policies(directory: Path | str | None = None) -> PolicySet:
    """Load and validate a directory of policy files (default: the shipped rules/policies)."""
    policy_set, errors = check_policies([directory or SHIPPED_POLICIES])
    if errors or policy_set is None:
        raise PolicyErrors(errors)
    return policy_set
