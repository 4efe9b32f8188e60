//! The standalone `lexi-sim` steered from outside, as a person rehearsing a
//! field failure would: the control socket (`--control`), its client
//! (`lexi-sim ctl`), and SIGUSR1 as the PWR_ON line (`--pid-file`).

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use lexi_sim::control::{send_command, Reply, COMMANDS};

use super::common::{Host, PtyHost, SimProcess};

/// A running `lexi-sim` with a control socket and a pid file in a temp dir.
struct Running {
    process: SimProcess,
    host: Host<PtyHost>,
    control: PathBuf,
    pid_file: PathBuf,
    _dir: tempfile::TempDir,
}

async fn start() -> Running {
    let dir = tempfile::tempdir().unwrap();
    let control = dir.path().join("ctl.sock");
    let pid_file = dir.path().join("lexi-sim.pid");
    let process = SimProcess::start([
        "--time-scale".as_ref(),
        "0.001".as_ref(),
        "--nvm-dir".as_ref(),
        dir.path().as_os_str(),
        "--control".as_ref(),
        control.as_os_str(),
        "--pid-file".as_ref(),
        pid_file.as_os_str(),
    ])
    .await;
    let mut host = Host::new(PtyHost::open(&process.pty).unwrap());
    host.until_answered("AT").await;
    Running {
        process,
        host,
        control,
        pid_file,
        _dir: dir,
    }
}

/// Sends one command on the control socket; the text of its `ok` reply.
fn ok(control: &Path, command: &str) -> String {
    match send_command(control, command) {
        Ok(Reply::Ok(text)) => text,
        other => panic!("{command:?}: {other:?}"),
    }
}

/// `lexi-sim ctl --control <control> <words>`.
fn ctl(control: &Path, words: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lexi-sim"))
        .arg("ctl")
        .arg("--control")
        .arg(control)
        .args(words)
        .output()
        .unwrap()
}

#[tokio::test]
async fn reboot_over_the_control_socket_boots_the_module_again() {
    let mut sim = start().await;
    assert_eq!(sim.host.until_answered("ATE0").await, "ATE0\r\r\nOK\r\n");
    sim.host.write(b"AT\r").await;
    assert_eq!(sim.host.read_until("OK\r\n").await, "\r\nOK\r\n");
    assert_eq!(ok(&sim.control, "reboot"), "rebooting");
    // Echo is volatile: only a boot turns it back on.
    let answer = sim.host.until_answer_contains("AT", "AT\r").await;
    assert_eq!(answer, "AT\r\r\nOK\r\n");
    assert!(sim.process.terminate().await.success());
}

#[tokio::test]
async fn network_none_over_the_control_socket_deregisters() {
    let mut sim = start().await;
    sim.host.until_answered("ATE0").await;
    sim.host
        .until_answer_contains("AT+CEREG?", "+CEREG: 0,1\r\n")
        .await;
    // Through the `ctl` client this time, as a person would.
    let out = ctl(&sim.control, &["network", "none"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "ok network none\n");
    assert_eq!(out.status.code(), Some(0));
    // No coverage: searching (stat 2), not registered.
    let answer = sim
        .host
        .until_answer_contains("AT+CEREG?", "+CEREG: 0,2\r\n")
        .await;
    assert_eq!(answer, "\r\n+CEREG: 0,2\r\n\r\nOK\r\n");
    assert_eq!(
        ok(&sim.control, "status"),
        "power=Ready mode=Idle reg_stat=2 network=none mqtt=down clock=Default"
    );
    assert_eq!(ok(&sim.control, "network coverage"), "network coverage");
    sim.host
        .until_answer_contains("AT+CEREG?", "+CEREG: 0,1\r\n")
        .await;
    assert!(sim.process.terminate().await.success());
}

#[tokio::test]
async fn sigusr1_pulses_pwr_on_and_wakes_a_hibernating_module() {
    let mut sim = start().await;
    let pid: u32 = std::fs::read_to_string(&sim.pid_file)
        .unwrap()
        .trim_end()
        .parse()
        .unwrap();
    assert_eq!(pid, sim.process.child.id());
    sim.host.until_answered("ATE0").await;
    // Hibernate needs registration (otherwise Sleep-1 at most).
    sim.host
        .until_answer_contains("AT+CEREG?", "+CEREG: 0,1\r\n")
        .await;
    // 1000 s of module time is 1 s here: the module does not fall asleep
    // again between the wake and the `AT` below.
    sim.host
        .write(b"AT+USLPURC=\"HIBNATE\",1;+UPSV=1,1000000,4\r")
        .await;
    assert_eq!(sim.host.read_until("OK\r\n").await, "\r\nOK\r\n");
    assert_eq!(
        sim.host.read_until("+UUSLPURC: HIB 1\r\n").await,
        "\r\n+UUSLPURC: HIB 1\r\n"
    );
    assert!(ok(&sim.control, "status").contains("mode=Hibernate"));
    // Deaf to the UART: no echo, no answer.
    sim.host.write(b"AT\r").await;
    assert!(sim.host.silent_for(Duration::from_millis(300)).await);
    sim.process.signal("-USR1", pid);
    assert_eq!(
        sim.host.read_until("+UUSLPURC: HIB 0\r\n").await,
        "\r\n+UUSLPURC: HIB 0\r\n"
    );
    // Awake, with echo back on (Hibernate lost the volatile settings).
    sim.host.write(b"AT\r").await;
    assert_eq!(sim.host.read_until("OK\r\n").await, "AT\r\r\nOK\r\n");
    // SIGUSR1 did not end the process (its default action would).
    assert!(sim.process.terminate().await.success());
}

#[tokio::test]
async fn garbage_reaches_the_uart_byte_for_byte() {
    let mut sim = start().await;
    assert_eq!(
        ok(&sim.control, "garbage \\xff\\x00no\\tise\\r\\n"),
        "10 bytes sent"
    );
    assert_eq!(
        sim.host.read_until_bytes(b"ise\r\n").await,
        b"\xff\x00no\tise\r\n"
    );
    assert_eq!(ok(&sim.control, "urc +UUSORD: 0,2"), "URC sent");
    assert_eq!(
        sim.host.read_until("+UUSORD: 0,2\r\n").await,
        "\r\n+UUSORD: 0,2\r\n"
    );
    assert!(sim.process.terminate().await.success());
}

#[tokio::test]
async fn fail_next_and_delay_next_act_on_the_next_commands() {
    let mut sim = start().await;
    sim.host.until_answered("ATE0;+CMEE=1").await;
    ok(&sim.control, "fail-next 2 10");
    for _ in 0..2 {
        sim.host.write(b"AT\r").await;
        assert_eq!(
            sim.host.read_until("ERROR: 10\r\n").await,
            "\r\n+CME ERROR: 10\r\n"
        );
    }
    sim.host.write(b"AT\r").await;
    assert_eq!(sim.host.read_until("OK\r\n").await, "\r\nOK\r\n");
    ok(&sim.control, "delay-next 400");
    let asked = std::time::Instant::now();
    sim.host.write(b"AT\r").await;
    assert_eq!(sim.host.read_until("OK\r\n").await, "\r\nOK\r\n");
    assert!(asked.elapsed() >= Duration::from_millis(400));
    assert!(sim.process.terminate().await.success());
}

#[tokio::test]
async fn bad_commands_get_an_error_and_the_simulator_carries_on() {
    let sim = start().await;
    // The client: exit 1 and the reason on an error reply.
    let out = ctl(&sim.control, &["frobnicate", "now"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "error: unknown command `frobnicate`; `help` lists the commands\n"
    );
    let out = ctl(&sim.control, &["network", "lte"]);
    assert_eq!(out.status.code(), Some(1));
    // On one connection: a reply per line, whatever the line.
    let stream = UnixStream::connect(&sim.control).unwrap();
    stream
        .set_read_timeout(Some(super::common::PATIENCE))
        .unwrap();
    let mut writer = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    let mut too_long = vec![b'x'; 10_000];
    too_long.push(b'\n');
    let lines: [&[u8]; 5] = [b"\n", b"\xff\xfe\n", &too_long, b"fail-next 1\n", b"help\n"];
    for line in lines {
        writer.write_all(line).unwrap();
    }
    let mut replies = Vec::new();
    for _ in 0..lines.len() {
        let mut reply = String::new();
        reader.read_line(&mut reply).unwrap();
        replies.push(reply);
    }
    assert_eq!(
        replies[..4],
        [
            "error: empty line; `help` lists the commands\n",
            "error: not UTF-8 text (bytes go in `garbage` as \\xNN)\n",
            "error: line longer than 4096 bytes\n",
            "error: usage: fail-next <n> <cme code>\n",
        ]
    );
    for (usage, _) in COMMANDS {
        assert!(
            replies[4].contains(usage),
            "{usage} not in {:?}",
            replies[4]
        );
    }
    drop((writer, reader));
    // Another client after that one, through `lexi-sim ctl`.
    let out = ctl(&sim.control, &["status"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("ok power=Ready"));
    // No simulator behind a path: exit 2.
    let out = ctl(&sim.control.with_file_name("nobody.sock"), &["status"]);
    assert_eq!(out.status.code(), Some(2));
    // At exit the socket and the pid file are gone.
    let (control, pid_file) = (sim.control.clone(), sim.pid_file.clone());
    assert!(control.exists() && pid_file.exists());
    assert!(sim.process.terminate().await.success());
    assert!(!control.exists(), "control socket left behind");
    assert!(!pid_file.exists(), "pid file left behind");
}

#[tokio::test]
async fn a_stale_socket_file_is_replaced_and_a_live_one_refused() {
    let dir = tempfile::tempdir().unwrap();
    let control = dir.path().join("ctl.sock");
    // A socket file nobody listens on, as a killed simulator leaves behind.
    drop(std::os::unix::net::UnixListener::bind(&control).unwrap());
    assert!(control.exists());
    let args = |nvm: &str| {
        vec![
            "--time-scale".into(),
            "0.001".into(),
            "--nvm-dir".into(),
            dir.path().join(nvm).into_os_string(),
            "--control".into(),
            control.clone().into_os_string(),
        ]
    };
    let first = SimProcess::start(args("a")).await;
    assert_eq!(ok(&control, "help").split(';').count(), COMMANDS.len());
    // A second simulator on the same path: an error, the first unharmed.
    let second = Command::new(env!("CARGO_BIN_EXE_lexi-sim"))
        .args(args("b"))
        .output()
        .unwrap();
    assert!(!second.status.success());
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(stderr.contains("another process listens on it"), "{stderr}");
    assert!(ok(&control, "status").starts_with("power="));
    assert!(first.terminate().await.success());
    // A file that is not a socket is never removed.
    std::fs::write(&control, "precious").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_lexi-sim"))
        .args(args("c"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert_eq!(std::fs::read_to_string(&control).unwrap(), "precious");
}
