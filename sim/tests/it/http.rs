//! The embedded HTTP client (§7) end to end: the simulator over its pty,
//! its real reqwest client, and a real HTTP server of the test's own on
//! 127.0.0.1 (`http_server.rs`) that records what arrives and answers what
//! the test says.

use std::time::{Duration, Instant};

use super::common::{fast_config, registered, Host, PtyHost, PATIENCE};
use super::http_server::{Reply, TestServer};
use lexi_sim::{SimConfig, SimHandle, Simulator};

async fn started(cfg: SimConfig) -> (SimHandle, Host<PtyHost>) {
    let (sim, path) = Simulator::spawn_pty(cfg).unwrap();
    let mut host = Host::new(PtyHost::open(&path).unwrap());
    assert!(sim.wait_ready(PATIENCE).await, "did not boot");
    host.write(b"ATE0;+CMEE=2\r").await;
    host.read_until("OK\r\n").await;
    registered(&sim).await;
    (sim, host)
}

/// Sends `line`; its answer up to the final `OK` (which must come).
async fn at(host: &mut Host<PtyHost>, line: &str) -> String {
    host.write(format!("{line}\r").as_bytes()).await;
    host.read_until("\r\nOK\r\n").await
}

/// Profile 0 aimed at the test server, in I/O mode `io_mode`.
async fn profile(host: &mut Host<PtyHost>, port: u16, io_mode: u8) {
    for line in [
        "AT+UHTTP=0".to_string(),
        "AT+UHTTP=0,0,\"127.0.0.1\"".to_string(),
        format!("AT+UHTTP=0,5,{port}"),
        format!("AT+UHTTP=0,10,{io_mode}"),
    ] {
        assert_eq!(at(host, &line).await, "\r\nOK\r\n", "{line}");
    }
}

/// A body with every byte value, `OK`, CR LF and `DISCONNECT` in it.
fn binary_body() -> Vec<u8> {
    let mut body: Vec<u8> = (0..=255u8).cycle().take(1024).collect();
    body.extend_from_slice(b"\r\nOK\r\n\"DISCONNECT\"\r\n+UUHTTPCR: 0,7,1\r\n");
    body
}

#[tokio::test]
async fn a_binary_body_goes_out_byte_for_byte_in_direct_link_and_the_answer_streams_back() {
    let dir = tempfile::tempdir().unwrap();
    let (sim, mut host) = started(fast_config(dir.path())).await;
    let mut server = TestServer::start().await;
    let answer = b"{\"accepted\":3}\r\nOK\r\n".to_vec();
    server.then(Reply::Status {
        status: 200,
        reason: "OK",
        headers: vec![("Content-Type", "application/json".into())],
        body: answer.clone(),
    });
    profile(&mut host, server.port, 1).await;
    at(&mut host, "AT+UHTTP=0,9,\"0:X-Device:gw-7\"").await;
    let body = binary_body();
    host.write(
        format!(
            "AT+UHTTPC=0,7,\"/v1/telemetry/gw-7\",6,\"application/senml+cbor\",{}\r",
            body.len()
        )
        .as_bytes(),
    )
    .await;
    assert_eq!(host.read_until("\r\nCONNECT\r\n").await, "\r\nCONNECT\r\n");
    tokio::time::sleep(Duration::from_millis(50)).await;
    host.write(&body).await;

    let stream = host.read_until_bytes(b"\r\nDISCONNECT\r\n").await;
    let text = String::from_utf8_lossy(&stream).into_owned();
    assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text:?}");
    assert!(
        text.contains("\r\nContent-Type: application/json\r\n"),
        "{text:?}"
    );
    let mut tail = b"\r\n\r\n".to_vec();
    tail.extend_from_slice(&answer);
    tail.extend_from_slice(b"\r\nDISCONNECT\r\n");
    assert!(stream.ends_with(&tail), "{text:?}");
    assert_eq!(
        host.read_until("+UUHTTPCR: 0,7,1\r\n").await,
        "\r\nOK\r\n\r\n+UUHTTPCR: 0,7,1\r\n"
    );

    let got = server.request().await;
    assert_eq!(got.method, "POST");
    assert_eq!(got.path, "/v1/telemetry/gw-7");
    assert_eq!(got.body, body, "byte for byte");
    assert_eq!(got.header("Content-Type"), Some("application/senml+cbor"));
    assert_eq!(got.header("User-Agent"), Some("UBLOX-HttpClient V3.0"));
    assert_eq!(got.header("X-Device"), Some("gw-7"));
    assert_eq!(
        got.header("Content-Length"),
        Some(body.len().to_string().as_str())
    );
    // The bytes went through the energy ledger.
    let energy = sim.energy().await.unwrap();
    assert!(energy.radio_bytes_sent > body.len() as u64);
    assert!(energy.radio_bytes_received > answer.len() as u64);
    sim.shutdown();
}

#[tokio::test]
async fn a_file_mode_post_sends_an_fwritten_file_and_a_get_response_is_read_with_fread() {
    let dir = tempfile::tempdir().unwrap();
    let (sim, mut host) = started(fast_config(dir.path())).await;
    let mut server = TestServer::start().await;
    profile(&mut host, server.port, 0).await;
    at(&mut host, "AT+UHTTP=0,2,\"test_user\"").await;
    at(&mut host, "AT+UHTTP=0,3,\"P455w0rd\"").await;
    at(&mut host, "AT+UHTTP=0,4,1").await;

    // §7.2: the body is a file written with +FWRITE.
    assert_eq!(
        at(&mut host, "AT+FOPEN=\"postdata.bin\"").await,
        "\r\n+FOPEN: 1\r\n\r\nOK\r\n"
    );
    let body = binary_body();
    host.write(format!("AT+FWRITE=1,{}\r", body.len()).as_bytes())
        .await;
    assert_eq!(host.read_until("\r\nCONNECT\r\n").await, "\r\nCONNECT\r\n");
    host.write(&body).await;
    assert_eq!(
        host.read_until("\r\nOK\r\n").await,
        format!("\r\n+FWRITE: {0},{0}\r\n\r\nOK\r\n", body.len())
    );
    at(&mut host, "AT+FCLOSE=1").await;
    server.then(Reply::Status {
        status: 201,
        reason: "Created",
        headers: vec![("Location", "/items/1".into())],
        body: b"created".to_vec(),
    });
    assert_eq!(
        at(
            &mut host,
            "AT+UHTTPC=0,4,\"/post\",\"result.txt\",\"postdata.bin\",2"
        )
        .await,
        "\r\nOK\r\n"
    );
    assert_eq!(
        host.read_until("+UUHTTPCR: 0,4,1\r\n").await,
        "\r\n+UUHTTPCR: 0,4,1\r\n"
    );
    let got = server.request().await;
    assert_eq!((got.method.as_str(), got.path.as_str()), ("POST", "/post"));
    assert_eq!(got.body, body);
    assert_eq!(got.header("Content-Type"), Some("application/octet-stream"));
    // Basic authentication, test_user:P455w0rd.
    assert_eq!(
        got.header("Authorization"),
        Some("Basic dGVzdF91c2VyOlA0NTV3MHJk")
    );

    // A GET whose response file is read back with +FREAD.
    server.then(Reply::Status {
        status: 200,
        reason: "OK",
        headers: vec![("Content-Type", "text/plain".into())],
        body: b"ping\r\nOK\r\nflush".to_vec(),
    });
    at(&mut host, "AT+UHTTPC=0,1,\"/commands\",\"get.ffs\"").await;
    host.read_until("+UUHTTPCR: 0,1,1\r\n").await;
    assert_eq!(server.request().await.method, "GET");
    let size_line = at(&mut host, "AT+ULSTFILE=2,\"get.ffs\"").await;
    let size: usize = size_line
        .trim()
        .strip_prefix("+ULSTFILE: ")
        .and_then(|s| s.split("\r\n").next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("{size_line:?}"));
    at(&mut host, "AT+FOPEN=\"get.ffs\"").await;
    host.write(format!("AT+FREAD=1,{size}\r").as_bytes()).await;
    let read = host.read_until_bytes(b"flush\r\nOK\r\n").await;
    let text = String::from_utf8_lossy(&read).into_owned();
    let file = text
        .strip_prefix(&format!("\r\nCONNECT {size}\r\n"))
        .unwrap_or_else(|| panic!("{text:?}"))
        .strip_suffix("\r\nOK\r\n")
        .unwrap();
    assert_eq!(file.len(), size);
    assert!(file.starts_with("HTTP/1.1 200 OK\r\n"), "{file:?}");
    assert!(file.ends_with("\r\n\r\nping\r\nOK\r\nflush"), "{file:?}");
    at(&mut host, "AT+FCLOSE=1").await;
    sim.shutdown();
}

#[tokio::test]
async fn server_errors_are_answers_the_module_relays() {
    let dir = tempfile::tempdir().unwrap();
    let (sim, mut host) = started(fast_config(dir.path())).await;
    let mut server = TestServer::start().await;
    profile(&mut host, server.port, 1).await;
    server.then(Reply::status(500, "Internal Server Error", b"boom"));
    server.then(Reply::Status {
        status: 429,
        reason: "Too Many Requests",
        headers: vec![("Retry-After", "7".into())],
        body: Vec::new(),
    });
    for (status, must_contain) in [
        ("HTTP/1.1 500 Internal Server Error\r\n", "\r\n\r\nboom"),
        (
            "HTTP/1.1 429 Too Many Requests\r\n",
            "\r\nRetry-After: 7\r\n",
        ),
    ] {
        host.write(b"AT+UHTTPC=0,1,\"/\",\"ignored\"\r").await;
        host.read_until("\r\nCONNECT\r\n").await;
        let stream = host.read_until("\r\nDISCONNECT\r\n").await;
        assert!(stream.starts_with(status), "{stream:?}");
        assert!(stream.contains(must_contain), "{stream:?}");
        // The transaction completed: 1, and no error.
        host.read_until("+UUHTTPCR: 0,1,1\r\n").await;
        assert_eq!(
            at(&mut host, "AT+UHTTPER=0").await,
            "\r\n+UHTTPER: 0,0,0\r\n\r\nOK\r\n"
        );
        server.request().await;
    }
    sim.shutdown();
}

#[tokio::test]
async fn a_server_that_is_down_fails_the_request_with_3_11() {
    let dir = tempfile::tempdir().unwrap();
    let (sim, mut host) = started(fast_config(dir.path())).await;
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    profile(&mut host, port, 1).await;
    host.write(b"AT+UHTTPC=0,7,\"/post\",1,,11\r").await;
    host.read_until("\r\nCONNECT\r\n").await;
    host.write(b"hello world").await;
    assert_eq!(
        host.read_until("+UUHTTPCR: 0,7,0\r\n").await,
        "\r\nDISCONNECT\r\n\r\nOK\r\n\r\n+UUHTTPCR: 0,7,0\r\n"
    );
    assert_eq!(
        at(&mut host, "AT+UHTTPER=0").await,
        "\r\n+UHTTPER: 0,3,11\r\n\r\nOK\r\n"
    );
    sim.shutdown();
}

#[tokio::test]
async fn a_silent_server_times_out_after_op_7() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = fast_config(dir.path());
    // 30 s become 0.3 s.
    cfg.http_timeout_scale = 0.01;
    let (sim, mut host) = started(cfg).await;
    let mut server = TestServer::start().await;
    server.then(Reply::Silence(Duration::from_secs(5)));
    profile(&mut host, server.port, 0).await;
    at(&mut host, "AT+UHTTP=0,7,30").await;
    let began = Instant::now();
    at(&mut host, "AT+UHTTPC=0,1,\"/slow\",\"slow.ffs\"").await;
    host.read_until("+UUHTTPCR: 0,1,0\r\n").await;
    let took = began.elapsed();
    assert!(
        took >= Duration::from_millis(250) && took < Duration::from_secs(4),
        "{took:?}"
    );
    assert_eq!(server.request().await.path, "/slow");
    assert_eq!(
        at(&mut host, "AT+UHTTPER=0").await,
        "\r\n+UHTTPER: 0,3,11\r\n\r\nOK\r\n"
    );
    host.write(b"AT+ULSTFILE=2,\"slow.ffs\"\r").await;
    assert_eq!(
        host.read_until("not found\r\n").await,
        "\r\n+CME ERROR: not found\r\n",
        "no response file"
    );
    sim.shutdown();
}

#[tokio::test]
async fn a_connection_cut_mid_body_ends_the_stream_and_fails() {
    let dir = tempfile::tempdir().unwrap();
    let (sim, mut host) = started(fast_config(dir.path())).await;
    let mut server = TestServer::start().await;
    server.then(Reply::CutBody {
        announced: 100,
        sent: b"partial".to_vec(),
    });
    profile(&mut host, server.port, 1).await;
    host.write(b"AT+UHTTPC=0,1,\"/big\",\"x\"\r").await;
    host.read_until("\r\nCONNECT\r\n").await;
    let stream = host.read_until("\r\nDISCONNECT\r\n").await;
    assert!(stream.starts_with("HTTP/1.1 200 OK\r\n"), "{stream:?}");
    assert!(
        stream.ends_with("\r\n\r\npartial\r\nDISCONNECT\r\n"),
        "{stream:?}"
    );
    assert_eq!(
        host.read_until("+UUHTTPCR: 0,1,0\r\n").await,
        "\r\nOK\r\n\r\n+UUHTTPCR: 0,1,0\r\n"
    );
    assert_eq!(
        at(&mut host, "AT+UHTTPER=0").await,
        "\r\n+UHTTPER: 0,3,11\r\n\r\nOK\r\n"
    );
    server.request().await;
    sim.shutdown();
}

/// Lets the module hibernate (`+UPSV` already on), then wakes it.
async fn hibernate_and_wake(sim: &SimHandle, host: &mut Host<PtyHost>) {
    host.read_until("+UUSLPURC: HIB 1\r\n").await;
    sim.pulse_wake_line();
    host.read_until("+UUSLPURC: HIB 0\r\n").await;
    // Echo is back on after deep sleep; sleep off while the test talks.
    host.until_answered("ATE0;+UPSV=0").await;
}

async fn allow_hibernate(host: &mut Host<PtyHost>) {
    at(host, "AT+USLPURC=\"HIBNATE\",1").await;
    // 500 s of module time: 0.5 s here, time for the host to answer the
    // wake before the next sleep.
    at(host, "AT+UPSV=1,500000,4").await;
}

#[tokio::test]
async fn nvm_profiles_come_back_after_deep_sleep_only_when_armed_since_boot() {
    let dir = tempfile::tempdir().unwrap();
    let (sim, mut host) = started(fast_config(dir.path())).await;
    let mut server = TestServer::start().await;
    // §7.1.2.1: votes around the configuration, stored, vote up.
    at(&mut host, "AT+USLPVOTE=1,2").await;
    at(&mut host, "AT+USLPVOTE=0,0").await;
    profile(&mut host, server.port, 0).await;
    at(&mut host, "AT+UHTTPNV=0,2").await;
    at(&mut host, "AT+UHTTP=0,5,1").await; // not stored: lost in the sleep
    at(&mut host, "AT+USLPVOTE=0,1").await;
    allow_hibernate(&mut host).await;
    hibernate_and_wake(&sim, &mut host).await;
    at(&mut host, "AT+UHTTPC=0,1,\"/after-sleep\",\"r\"").await;
    host.read_until("+UUHTTPCR: 0,1,1\r\n").await;
    assert_eq!(server.request().await.path, "/after-sleep");

    // A boot disarms the NVM copy: after the next deep sleep the profile
    // is factory (no server: 3,7) until `+UHTTPNV=0,1` (§7.1.2.2).
    sim.reboot();
    host.until_answered("ATE0").await;
    registered(&sim).await;
    assert!(at(&mut host, "AT+UHTTPNV?")
        .await
        .contains("+UHTTPNV: 0,0\r\n"));
    allow_hibernate(&mut host).await;
    hibernate_and_wake(&sim, &mut host).await;
    at(&mut host, "AT+UHTTPC=0,1,\"/lost\",\"r\"").await;
    host.read_until("+UUHTTPCR: 0,1,0\r\n").await;
    assert_eq!(
        at(&mut host, "AT+UHTTPER=0").await,
        "\r\n+UHTTPER: 0,3,7\r\n\r\nOK\r\n"
    );
    at(&mut host, "AT+UHTTPNV=0,1").await;
    allow_hibernate(&mut host).await;
    hibernate_and_wake(&sim, &mut host).await;
    at(&mut host, "AT+UHTTPC=0,1,\"/rearmed\",\"r\"").await;
    host.read_until("+UUHTTPCR: 0,1,1\r\n").await;
    assert_eq!(server.request().await.path, "/rearmed");
    assert!(server.none_within(Duration::from_millis(100)).await);
    let log = sim.power_log().await.unwrap();
    let hibernations = log
        .iter()
        .filter(|e| e.state == lexi_sim::PowerMode::Hibernate)
        .count();
    assert_eq!(hibernations, 3);
    sim.shutdown();
}

#[tokio::test]
async fn files_and_stored_profiles_survive_a_restart_of_the_simulator() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (sim, mut host) = started(fast_config(dir.path())).await;
        at(&mut host, "AT+UHTTP=0,1,\"ingest.test\"").await;
        at(&mut host, "AT+UHTTPNV=0,2").await;
        at(&mut host, "AT+FOPEN=\"keep.txt\"").await;
        host.write(b"AT+FWRITE=1,4\r").await;
        host.read_until("\r\nCONNECT\r\n").await;
        host.write(b"kept").await;
        host.read_until("\r\nOK\r\n").await;
        sim.shutdown();
    }
    let (sim, mut host) = started(fast_config(dir.path())).await;
    assert_eq!(
        at(&mut host, "AT+ULSTFILE=0").await,
        "\r\n+ULSTFILE: \"keep.txt\"\r\n\r\nOK\r\n"
    );
    assert_eq!(
        at(&mut host, "AT+UHTTP=0,1").await,
        "\r\n+UHTTP: 0,1,\"\"\r\n\r\nOK\r\n",
        "volatile until loaded"
    );
    at(&mut host, "AT+UHTTPNV=0,1").await;
    assert_eq!(
        at(&mut host, "AT+UHTTP=0,1").await,
        "\r\n+UHTTP: 0,1,\"ingest.test\"\r\n\r\nOK\r\n"
    );
    sim.shutdown();
}
