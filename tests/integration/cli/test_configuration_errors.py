"""The command's configuration errors: status 2, and what to set."""


def test_no_credentials_exits_2_saying_how_to_set_them(run_main, monkeypatch):
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")

    result = run_main("worker", "cli_app:app")

    assert result.returncode == 2
    assert "No AWS credentials were found" in result.stderr
    assert "could not be reached" not in result.stderr


def test_an_endpoint_without_a_scheme_names_the_variable(run_main, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL_SQS", "127.0.0.1:5055")

    result = run_main("stats", "cli_app:app")

    assert result.returncode == 2
    assert "AWS_ENDPOINT_URL_SQS='127.0.0.1:5055' is not a valid endpoint URL" in result.stderr


def test_check_and_stats_without_credentials_say_it_once_with_status_2(run_main, monkeypatch):
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")

    for command in ("check", "stats"):
        result = run_main(command, "cli_app:app")

        assert result.returncode == 2, command
        assert result.stderr.count("No AWS credentials were found") == 1, command


def test_check_writes_no_doubled_full_stops(run_main, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL_SQS", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")

    result = run_main("check", "cli_app:app")

    assert "it cannot be read: SQS GetQueueUrl" in result.stdout
    assert ".." not in result.stdout.replace("...", "")
