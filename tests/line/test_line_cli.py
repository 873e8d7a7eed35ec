"""crm line connect|status|disconnect against the fake LINE platform: secrets never shown."""

from __future__ import annotations

from crm_cli.domain.errors import ExitCode
from tests.fakeline.fixtures import CHANNEL_ID, SECRET


def test_connect_checks_the_token_with_line_and_masks_secrets(connected):
    cli, line = connected, connected.line
    status = cli.json("line", "status")
    assert status["channel_id"] == CHANNEL_ID
    assert status["line"] == "ok"
    assert status["bot_name"] == "Cafe Siam"
    assert status["quota"] == 1000
    assert status["webhook_url"].endswith("/line/webhook/cafe")
    assert status["channel_secret"].startswith("sha256:") and SECRET not in repr(status)
    assert connected.token not in repr(status)
    # the token reached LINE only as a Bearer header
    info = line.calls("GET", "/v2/bot/info")
    assert info and info[0].headers["authorization"] == f"Bearer {connected.token}"
    # never in the audit trail
    audit = cli("audit", "list", fmt="json")
    assert audit.exit_code == 0
    assert SECRET not in audit.stdout and connected.token not in audit.stdout
    assert "connected LINE channel 1656000000" in audit.stdout


def test_connect_refused_token_stores_nothing_and_hides_it(shop, fake_line):
    bad = "x" * 40
    err = shop.fails(ExitCode.UPSTREAM, "line", "connect", "--channel-id", CHANNEL_ID, "--channel-secret", SECRET,
                     "--access-token", bad)
    assert err == ("error: LINE refused the channel access token (401): reissue it in the LINE Developers console "
                   "and run `crm line connect` again")
    assert bad not in err
    err = shop.fails(ExitCode.NOT_FOUND, "line", "status", "--offline")
    assert "no LINE channel" in err


def test_connect_validates_shapes_without_echoing(shop, fake_line):
    err = shop.fails(ExitCode.INVALID_INPUT, "line", "connect", "--channel-id", "abc", "--channel-secret", SECRET, "--access-token", "t" * 30)
    assert "--channel-id" in err
    err = shop.fails(ExitCode.INVALID_INPUT, "line", "connect", "--channel-id", CHANNEL_ID, "--channel-secret", "has space inside",
                     "--access-token", "t" * 30)
    assert "has space" not in err
    err = shop.fails(ExitCode.INVALID_INPUT, "line", "connect", "--channel-id", CHANNEL_ID, "--channel-secret", "-", "--access-token", "-")
    assert "only one" in err
    assert not fake_line.calls()


def test_status_when_line_is_down_still_shows_the_connection(connected):
    connected.line.fail("GET", "/v2/bot/info", 500, times=10)
    status = connected.json("line", "status")
    assert status["line"].startswith("error: LINE failed to get the bot info (500")
    assert status["channel_id"] == CHANNEL_ID


def test_disconnect_then_webhook_unknown(connected):
    out = connected.json("line", "disconnect")
    assert out == {"store": "cafe", "channel_id": CHANNEL_ID, "connected": False}
    assert "no LINE channel" in connected.fails(ExitCode.NOT_FOUND, "line", "disconnect")


def test_login_channel_pair(shop, fake_line, line_token):
    err = shop.fails(ExitCode.INVALID_INPUT, "line", "connect", "--channel-id", CHANNEL_ID, "--channel-secret", SECRET,
                     "--access-token", line_token, "--login-channel-id", "1656000001")
    assert "go together" in err
    out = shop.json("line", "connect", "--channel-id", CHANNEL_ID, "--channel-secret", SECRET, "--access-token",
                    line_token, "--login-channel-id", "1656000001", "--login-channel-secret", "-",
                    input="loginsecret123456\n")
    assert out["login_channel_id"] == "1656000001"
    assert out["login_channel_secret"].startswith("sha256:")
    assert "loginsecret123456" not in repr(out)
