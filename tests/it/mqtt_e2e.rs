//! Readings' payloads travel agent -> pty -> simulated LEXI-R10 -> its
//! embedded MQTT client (a real rumqttc) -> a real broker (rumqttd) -> a
//! subscriber, byte for byte, exactly as through a real module (§6).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use edge_agent::config::Config;
use edge_agent::demo::LocalBroker;
use edge_agent::modem::at::{AtClient, ClientOptions};
use edge_agent::modem::mqtt::profile::{provision, Provisioned};
use edge_agent::modem::mqtt::session::{MqttSession, SessionOptions};
use edge_agent::modem::{boot, port, BootSettings};
use edge_agent::queue::Queue;
use lexi_sim::{SimConfig, Simulator};
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use tokio::sync::mpsc;

const HANG: Duration = Duration::from_secs(60);

/// A subscriber on the broker that forwards every message it receives.
pub(crate) async fn subscriber(
    broker: &LocalBroker,
    filter: &str,
) -> mpsc::UnboundedReceiver<(String, Vec<u8>)> {
    let mut options = MqttOptions::new(
        "it-watcher",
        broker.addr.ip().to_string(),
        broker.addr.port(),
    );
    options.set_keep_alive(Duration::from_secs(5));
    let (client, mut events) = AsyncClient::new(options, 100);
    client.subscribe(filter, QoS::AtLeastOnce).await.unwrap();
    let (tx, rx) = mpsc::unbounded_channel();
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let _client = client;
        let mut ready = Some(ready_tx);
        while let Ok(event) = events.poll().await {
            match event {
                Event::Incoming(Packet::SubAck(_)) => {
                    if let Some(r) = ready.take() {
                        let _ = r.send(());
                    }
                }
                Event::Incoming(Packet::Publish(p)) => {
                    let _ = tx.send((p.topic, p.payload.to_vec()));
                }
                _ => {}
            }
        }
    });
    tokio::time::timeout(HANG, ready_rx).await.unwrap().unwrap();
    rx
}

fn config(dir: &tempfile::TempDir, broker: &LocalBroker) -> Config {
    let path = dir.path().join("config.toml");
    std::fs::write(
        &path,
        format!(
            "[agent]\ndata_dir = {:?}\ndevice_id = \"gw-e2e\"\n[modem]\nport = \"sim\"\n[uplink.mqtt]\nhost = \"127.0.0.1\"\nport = {}\nqos = 1\n",
            dir.path().join("data"),
            broker.addr.port()
        ),
    )
    .unwrap();
    Config::load_with_env(&path, Vec::<(String, String)>::new())
        .unwrap()
        .config
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payloads_with_quotes_crlf_ok_nul_and_ff_reach_a_subscriber_byte_identical() {
    let broker = LocalBroker::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = config(&dir, &broker);
    let mqtt = &config.uplink.mqtt;
    let topic = mqtt.topic.for_device("gw-e2e");
    let mut received = subscriber(&broker, &topic).await;

    let mut sim_config = SimConfig::new(dir.path().join("nvm"));
    sim_config.time_scale = 0.01;
    sim_config.mqtt_login_timeout = Duration::from_secs(1000); // 10 s real
    let (sim, path) = Simulator::spawn_pty(sim_config).unwrap();
    let (at, _engine) = AtClient::spawn(
        port::open(&path, 115_200).unwrap(),
        ClientOptions::default(),
    );
    let settings = BootSettings {
        registration_timeout: Duration::from_secs(10),
        reboot_timeout: Duration::from_secs(10),
        ..BootSettings::default()
    };

    let run = async {
        let info = boot(&at, &settings).await.unwrap();
        let queue = Queue::open(&config.queue_dir(), config.queue.options()).unwrap();
        let profile = mqtt.profile(&info.identity.imei, "gw-e2e").unwrap();
        assert!(matches!(
            provision(&at, queue.store(), &profile).await.unwrap(),
            Provisioned::Written
        ));
        let mut session =
            MqttSession::connect(&at, SessionOptions::new(mqtt.qos, topic.clone(), None))
                .await
                .unwrap();
        let payloads = crate::support::awkward_payloads();
        for p in &payloads {
            session.publish(p.clone()).await.unwrap();
        }
        session.logout().await.unwrap();
        payloads
    };
    let payloads = tokio::time::timeout(HANG, run)
        .await
        .expect("the session hung");
    for expected in payloads {
        let (t, got) = tokio::time::timeout(HANG, received.recv())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(t, topic);
        assert_eq!(got, expected);
    }
    // Exactly one NVM write of the profile on a first boot.
    let nv_saves = sim
        .transcript()
        .iter()
        .filter(|l| l.eq_ignore_ascii_case("AT+UMQTTNV=2"))
        .count();
    assert_eq!(nv_saves, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_boot_with_the_same_profile_saves_nothing_and_one_changed_field_saves_once() {
    let broker = LocalBroker::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = config(&dir, &broker);
    let settings = BootSettings {
        registration_timeout: Duration::from_secs(10),
        reboot_timeout: Duration::from_secs(10),
        ..BootSettings::default()
    };
    let saves = |t: &[String]| {
        t.iter()
            .filter(|l| l.eq_ignore_ascii_case("AT+UMQTTNV=2"))
            .count()
    };
    let writes = |t: &[String]| {
        t.iter()
            .filter(|l| l.to_ascii_uppercase().starts_with("AT+UMQTT="))
            .count()
    };

    // Three boots of the gateway on one module NVM and one agent store.
    let mut boots = Vec::new();
    for keepalive in [60, 60, 90] {
        let mut sim_config = SimConfig::new(dir.path().join("nvm"));
        sim_config.time_scale = 0.01;
        let (sim, path) = Simulator::spawn_pty(sim_config).unwrap();
        let (at, _engine) = AtClient::spawn(
            port::open(&path, 115_200).unwrap(),
            ClientOptions::default(),
        );
        let provisioned = tokio::time::timeout(HANG, async {
            let info = boot(&at, &settings).await.unwrap();
            let queue = Queue::open(&config.queue_dir(), config.queue.options()).unwrap();
            let mut mqtt = config.uplink.mqtt.clone();
            mqtt.keepalive = edge_agent::config::Duration::from_secs(keepalive);
            let profile = mqtt.profile(&info.identity.imei, "gw-e2e").unwrap();
            provision(&at, queue.store(), &profile).await.unwrap()
        })
        .await
        .expect("boot and provision hung");
        let transcript = sim.transcript();
        boots.push((provisioned, saves(&transcript), writes(&transcript)));
        sim.shutdown();
    }
    assert!(matches!(boots[0].0, Provisioned::Written));
    assert_eq!(boots[0].1, 1, "first boot: one save");
    assert!(matches!(boots[1].0, Provisioned::Reloaded));
    assert_eq!(
        (boots[1].1, boots[1].2),
        (0, 0),
        "same config: no write, no save"
    );
    assert!(matches!(boots[2].0, Provisioned::Written));
    assert_eq!(boots[2].1, 1, "one changed field: exactly one save");
}
