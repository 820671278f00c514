"""The local cloud's operator key: kept per work directory, named (never printed), and what signs with it.

Every legitimate client of a local cloud signs with the key in ``<workdir>/credentials``; none guesses a
well-known test key.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import NoCredentialsError
from rich.console import Console
from typer.testing import CliRunner

from selfheal.cli.app import app
from selfheal.cli.cloud import run_cloud, usage_lines
from selfheal.cli.errors import describe_aws_error
from selfheal.cloud.credentials import OPERATOR_PROFILE, OperatorKey, load_or_create, read_key
from selfheal.loop.deployment import AwsTarget, LocalCredentialsError
from selfheal.terraform.driver import Terraform
from selfheal.terraform.testing import MOTO_CREDENTIALS
from selfheal.workdir import Workdir

LOCAL = "http://127.0.0.1:4599"


@pytest.fixture()
def no_ambient_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No AWS credentials anywhere boto3 looks (environment, files, instance metadata), and a current
    directory without `.selfheal/credentials`."""
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-such-credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-such-config"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def _signing_key(client: Any) -> str:
    """The access key id a boto3 client signs with."""
    return str(client._request_signer._credentials.access_key)


# ----- the key file ------------------------------------------------------------------------------------


def test_load_or_create_writes_a_private_profile_and_keeps_it(tmp_path: Path) -> None:
    """The file is made with mode 0600 as a shared-credentials file (profile selfheal); a second call
    (the next `selfheal up`) returns the same key."""
    path = Workdir(tmp_path / ".selfheal").credentials_file
    key = load_or_create(path)
    assert path.stat().st_mode & 0o777 == 0o600
    text = path.read_text()
    assert f"[{OPERATOR_PROFILE}]" in text and key.access_key_id in text and key.secret_access_key in text
    assert load_or_create(path) == key
    assert read_key(path) == key
    assert sorted(p.name for p in path.parent.iterdir()) == ["credentials"]  # no partial file left


def test_concurrent_creators_in_threads_agree(tmp_path: Path) -> None:
    """Threads racing to create the file all get the one key that ends up in it."""
    path = tmp_path / "credentials"
    barrier = threading.Barrier(8)
    keys: list[OperatorKey] = []

    def create() -> None:
        barrier.wait()
        keys.append(load_or_create(path))

    threads = [threading.Thread(target=create) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(keys) == 8 and set(keys) == {read_key(path)}


def _create_in_child(path: str, start: Any, out: Any) -> None:
    start.wait()
    key = load_or_create(Path(path))
    out.put((key.access_key_id, key.secret_access_key))


def test_concurrent_creators_in_processes_agree(tmp_path: Path) -> None:
    """Two processes (`selfheal up` and `selfheal cloud`, say) racing to create the file agree on the key."""
    context = multiprocessing.get_context("fork")
    path = tmp_path / "credentials"
    start, out = context.Event(), context.Queue()
    children = [context.Process(target=_create_in_child, args=(str(path), start, out)) for _ in range(2)]
    for child in children:
        child.start()
    start.set()
    results = {out.get(timeout=30) for _ in children}
    for child in children:
        child.join(timeout=30)
        assert child.exitcode == 0
    key = read_key(path)
    assert results == {(key.access_key_id, key.secret_access_key)}


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644])
def test_read_key_refuses_a_file_others_can_read(tmp_path: Path, mode: int) -> None:
    """A key file readable by other users is refused in one line that says how to fix it."""
    path = tmp_path / "credentials"
    load_or_create(path)
    path.chmod(mode)
    with pytest.raises(ValueError, match=r"readable by other users .*chmod 600") as refused:
        read_key(path)
    assert "\n" not in str(refused.value)
    with pytest.raises(ValueError, match="readable by other users"):
        load_or_create(path)


@pytest.mark.parametrize(
    "text",
    [
        "not an ini file at all",
        "[default]\naws_access_key_id = AKIAAAAAAAAAAAAAAAAA\naws_secret_access_key = x\n",
        "[selfheal]\naws_access_key_id = AKIAAAAAAAAAAAAAAAAA\n",
        "[selfheal]\naws_access_key_id = short\naws_secret_access_key = 0123456789abcdef0123\n",
        "[selfheal]\naws_access_key_id = AKIAAAAAAAAAAAAAAAAA\naws_secret_access_key = tiny\n",
        "[selfheal]\naws_access_key_id = AKIAAAAAAAAAAAAAAAAA\naws_secret_access_key 0123456789abcdef0123\n",
        "",
    ],
)
def test_read_key_refuses_a_damaged_file(tmp_path: Path, text: str) -> None:
    """A file without a usable [selfheal] key is refused in one line naming it (and never echoes it)."""
    path = tmp_path / "credentials"
    path.write_text(text)
    path.chmod(0o600)
    with pytest.raises(ValueError, match=r"credentials holds no usable \[selfheal\] key .*delete it") as bad:
        read_key(path)
    assert "\n" not in str(bad.value)
    assert "0123456789abcdef0123" not in str(bad.value)


# ----- `selfheal cloud` ----------------------------------------------------------------------------------


def test_usage_lines_name_the_key_file_never_the_secret(tmp_path: Path) -> None:
    """The printed settings point at the credentials file and profile; no key or secret is printed."""
    path = tmp_path / "w" / "credentials"
    key = load_or_create(path)
    lines = usage_lines(LOCAL, "eu-west-1", path)
    text = "\n".join(lines)
    assert f"export AWS_ENDPOINT_URL={LOCAL} AWS_REGION=eu-west-1 AWS_DEFAULT_REGION=eu-west-1" in lines
    assert f"export AWS_SHARED_CREDENTIALS_FILE={path.resolve()} AWS_PROFILE={OPERATOR_PROFILE}" in lines
    assert f"aws --endpoint-url {LOCAL} lambda list-functions" in lines
    assert key.secret_access_key not in text and key.access_key_id not in text
    assert "testing" not in text and "AWS_ACCESS_KEY_ID" not in text and "AWS_SECRET_ACCESS_KEY" not in text


class _FakeCloud:
    endpoint = LOCAL
    region = "us-east-1"

    def start(self) -> None:
        """Nothing to start."""

    def stop(self) -> None:
        """Nothing to stop."""


def _run_fake(tmp_path: Path, **options: Any) -> tuple[dict[str, Any], str]:
    seen: dict[str, Any] = {}
    stop = threading.Event()

    def factory(**kwargs: Any) -> _FakeCloud:
        seen.update(kwargs)
        stop.set()
        return _FakeCloud()

    console = Console(record=True, width=300)
    run_cloud(4599, 1.0, console, cloud_factory=factory, stop=stop, **options)
    return seen, console.export_text()


def test_run_cloud_uses_the_workdirs_key_and_prints_where_it_is(tmp_path: Path) -> None:
    """With a work directory the cloud gets the key of its credentials file (made if missing, the same
    on a restart) and the output names the file, never the secret."""
    workdir = tmp_path / ".selfheal"
    seen, text = _run_fake(tmp_path, workdir=workdir)
    key = read_key(Workdir(workdir).credentials_file)
    assert seen["operator_key"] == key
    assert "accept_any_key" not in seen and "allow_origins" not in seen
    assert f"AWS_SHARED_CREDENTIALS_FILE={Workdir(workdir).credentials_file.resolve()}" in text
    assert key.secret_access_key not in text
    again, _ = _run_fake(tmp_path, workdir=workdir)
    assert again["operator_key"] == key


def test_run_cloud_passes_the_opt_outs_and_warns(tmp_path: Path) -> None:
    """--accept-any-key and --allow-origin reach the cloud; accepting any key is announced."""
    seen, text = _run_fake(
        tmp_path, workdir=tmp_path / "w", accept_any_key=True, allow_origins=["http://localhost:3000"]
    )
    assert seen["accept_any_key"] is True
    assert seen["allow_origins"] == ("http://localhost:3000",)
    assert "ANY access key acts as root" in text and "http://localhost:3000" in text


def test_run_cloud_refuses_an_unusable_key_file(tmp_path: Path) -> None:
    """A damaged key file stops `selfheal cloud` before it starts, with the file's one-line error."""
    from selfheal.cli.errors import CliError

    workdir = Workdir(tmp_path / "w")
    workdir.root.mkdir()
    workdir.credentials_file.write_text("garbage")
    workdir.credentials_file.chmod(0o600)
    with pytest.raises(CliError, match="no usable"):
        _run_fake(tmp_path, workdir=workdir.root)


def test_cloud_command_hands_its_options_to_run_cloud(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """`selfheal cloud --workdir W --accept-any-key --allow-origin O --allow-origin P` reaches run_cloud."""
    import selfheal.cli.cloud

    received: list[dict[str, Any]] = []
    monkeypatch.setattr(selfheal.cli.cloud, "run_cloud", lambda *a, **kw: received.append(kw))
    argv = ["cloud", "--port", "0", "--workdir", str(tmp_path), "--accept-any-key"]
    result = CliRunner().invoke(app, [*argv, "--allow-origin", "http://a:1", "--allow-origin", "http://b:2"])
    assert result.exit_code == 0, result.output
    assert received[0]["workdir"] == tmp_path
    assert received[0]["accept_any_key"] is True
    assert received[0]["allow_origins"] == ("http://a:1", "http://b:2")
    monkeypatch.chdir(tmp_path)
    assert CliRunner().invoke(app, ["cloud", "--port", "0"]).exit_code == 0
    assert received[1]["workdir"] == Path(".selfheal") and received[1]["accept_any_key"] is False


# ----- clients: AwsTarget, Terraform -----------------------------------------------------------------------


def test_local_target_signs_with_the_workdirs_key_over_ambient_credentials(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Ambient AWS keys (another account, another cloud) do not win over the work directory's key."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAAMBIENTAMBIENT00")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "ambient-secret-ambient-secret")
    key = load_or_create(Workdir(tmp_path).credentials_file)
    target = AwsTarget.resolve(LOCAL, "us-east-1", workdir=tmp_path)
    assert target.operator_key == key
    assert _signing_key(target.client("lambda")) == key.access_key_id
    assert key.secret_access_key not in repr(target)


def test_local_target_defaults_to_dot_selfheal(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Commands without --workdir (status, inject) read `.selfheal/credentials` of the current directory."""
    monkeypatch.chdir(tmp_path)
    key = load_or_create(Path(".selfheal") / "credentials")
    assert AwsTarget.resolve(LOCAL, None).operator_key == key


def test_local_target_falls_back_to_ambient_credentials(
    no_ambient_credentials: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Without a key file, the user's exported AWS_SHARED_CREDENTIALS_FILE/AWS_PROFILE (as `selfheal
    cloud` prints them) sign the requests."""
    key = load_or_create(tmp_path / "elsewhere" / "credentials")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "elsewhere" / "credentials"))
    monkeypatch.setenv("AWS_PROFILE", OPERATOR_PROFILE)
    target = AwsTarget.resolve(LOCAL, "us-east-1", workdir=tmp_path / "empty")
    assert target.operator_key is None
    assert _signing_key(target.client("sts")) == key.access_key_id


def test_local_target_without_any_key_is_a_one_line_error(
    no_ambient_credentials: None, tmp_path: Path
) -> None:
    """No key file and no credentials: a one-line error saying how to get a key; no key is guessed."""
    with pytest.raises(LocalCredentialsError) as missing:
        AwsTarget.resolve(LOCAL, "us-east-1", workdir=tmp_path)
    message = str(missing.value)
    assert "\n" not in message
    assert "selfheal up" in message and "selfheal cloud" in message
    assert "AWS_SHARED_CREDENTIALS_FILE" in message and "AWS_PROFILE" in message
    assert str(Workdir(tmp_path).credentials_file) in message


def test_status_without_any_key_exits_2_with_one_line(no_ambient_credentials: None, tmp_path: Path) -> None:
    """The CLI reports the missing key as one line before sending anything."""
    result = CliRunner().invoke(
        app,
        ["status", "--endpoint-url", LOCAL, "--outputs", str(tmp_path / "none.json")],
        env={"COLUMNS": "400"},
    )
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: no credentials for the local cloud"), result.output


def test_a_directly_built_local_target_never_guesses_a_key(no_ambient_credentials: None) -> None:
    """AwsTarget(endpoint, region) without a key signs with nothing; the failure reads as a local one."""
    target = AwsTarget(LOCAL, "us-east-1")
    client = target.client("lambda")
    with pytest.raises(NoCredentialsError) as raised:
        client.list_functions()
    assert "selfheal cloud" in describe_aws_error(raised.value, target)


def test_remote_endpoints_never_get_the_workdirs_key(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The key is for the loopback cloud only: an endpoint elsewhere signs with the ambient credentials."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAAMBIENTAMBIENT00")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "ambient-secret-ambient-secret")
    load_or_create(Workdir(tmp_path).credentials_file)
    target = AwsTarget.resolve("https://lambda.example.com", "us-east-1", workdir=tmp_path)
    assert target.operator_key is None
    assert _signing_key(target.client("lambda")) == "AKIAAMBIENTAMBIENT00"


def test_terraform_runs_with_the_credentials_it_is_given(tmp_path: Path) -> None:
    """Terraform's environment carries the caller's key (never a fixed one) and none of the user's."""
    key = OperatorKey.generate()
    root = tmp_path / "stack"
    root.mkdir()
    env = Terraform(root, LOCAL, credentials=key.environment(), home=tmp_path / "home").env()
    assert env["AWS_ACCESS_KEY_ID"] == key.access_key_id
    assert env["AWS_SECRET_ACCESS_KEY"] == key.secret_access_key
    assert "AWS_PROFILE" not in env and "AWS_SESSION_TOKEN" not in env
    moto = Terraform(root, LOCAL, credentials=MOTO_CREDENTIALS, home=tmp_path / "home").env()
    assert moto["AWS_ACCESS_KEY_ID"] == "test"
    with pytest.raises(ValueError, match="AWS_SECRET_ACCESS_KEY"):
        Terraform(root, LOCAL, credentials={"AWS_ACCESS_KEY_ID": "x"})
