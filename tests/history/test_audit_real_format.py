"""Audit over real vault files made by the format code (gitvault.sops.file)."""

from __future__ import annotations

from pathlib import Path

from gitvault import identities, keyfiles
from gitvault.git.commit import commit_paths
from gitvault.git.repo import Repository
from gitvault.git.trailers import VaultTrailers, build_vault_message
from gitvault.history.audit import audit, last_changes
from gitvault.history.sources import decryptor_for, parse_for_history
from gitvault.sops import file as sopsfile
from gitvault.yamlio import load_documents

F = "secrets/db.yaml"


def ident() -> tuple[identities.Identities, str]:
    text, public = identities.generate()
    items = keyfiles.parse_age_keys(text, "test").keys
    return identities.Identities(tuple(identities.Identity("test", r, k) for r, k in items), ("test",)), public


def docs(password: str) -> list:  # type: ignore[type-arg]
    return load_documents(f"db:\n    password: {password}\n    user: app\n", F)


def commit(repo: Path, data: bytes, claims: VaultTrailers) -> str:
    (repo / F).parent.mkdir(parents=True, exist_ok=True)
    (repo / F).write_bytes(data)
    message = build_vault_message(f"{claims.action} {F}", claims)
    return commit_paths(Repository.discover(repo), [F], message).id


def test_rotation_rekey_and_recipients_on_real_files(repo: Path) -> None:
    me, public = ident()
    _other, other_public = ident()
    v1 = sopsfile.encrypt_new(docs("first-Secret-1"), [public])
    add = commit(repo, v1, VaultTrailers(action="set", files=(F,), keys={F: ("db.password",)}))

    plain = sopsfile.open_file(sopsfile.parse_vault(v1, F), me.keys, record_ivs=True)
    v2 = sopsfile.reencrypt(docs("second-Secret-2"), plain)
    rotated = commit(
        repo, v2, VaultTrailers(action="rotate", files=(F,), keys={F: ("db.password",)})
    )

    # Re-key: a new data key for the same values, and one more recipient.
    plain2 = sopsfile.open_file(sopsfile.parse_vault(v2, F), me.keys)
    v3 = sopsfile.encrypt_new(plain2.documents, [public, other_public])
    rekey = commit(repo, v3, VaultTrailers(action="rekey", files=(F,), rekeyed=(F,)))

    wrapped = Repository.discover(repo)
    for decrypt, basis in ((None, "trailers"), (decryptor_for(me), "decrypted")):
        log = audit(wrapped, [F], parse=parse_for_history, decrypt=decrypt)
        by_commit: dict[str, set[tuple[str | None, str]]] = {}
        for e in log.events:
            by_commit.setdefault(e.commit, set()).add((e.key, e.kind))
        assert by_commit[add] == {("db.password", "added"), ("db.user", "added")}
        assert by_commit[rotated] == {("db.password", "rotated")}  # db.user kept its ciphertext
        assert by_commit[rekey] == {
            ("db.password", "rekeyed"),
            ("db.user", "rekeyed"),
            (None, "recipients"),
        }
        assert {e.basis for e in log.events if e.commit == rekey and e.key} == {basis}
        assert all(c.trailers_agree for c in log.commits), [c.problems for c in log.commits]
        times = {c.commit: c.time for c in log.commits}
        assert last_changes(log) == {(F, "db.password"): times[rotated], (F, "db.user"): times[add]}
        text = repr(log) + repr(log.to_json())
        for secret in ("first-Secret-1", "second-Secret-2"):
            assert secret not in text
