//! The demo's in-process broker carries what a subscriber must see,
//! byte for byte.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use edge_agent::demo::LocalBroker;
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};

#[tokio::test]
async fn the_demo_broker_delivers_a_binary_payload_unchanged_to_a_subscriber() {
    let broker = LocalBroker::start().unwrap();
    assert!(broker.addr.ip().is_loopback());
    let mut options = MqttOptions::new("it-sub", broker.addr.ip().to_string(), broker.addr.port());
    options.set_keep_alive(Duration::from_secs(5));
    let (client, mut events) = AsyncClient::new(options, 10);
    client
        .subscribe("devices/+/telemetry", QoS::AtLeastOnce)
        .await
        .unwrap();
    let payload: Vec<u8> = b"\"quoted\"\r\nOK\r\n\x00\xff".to_vec();
    let received = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            match events.poll().await.unwrap() {
                Event::Incoming(Packet::SubAck(_)) => {
                    client
                        .publish(
                            "devices/gw-1/telemetry",
                            QoS::AtLeastOnce,
                            false,
                            payload.clone(),
                        )
                        .await
                        .unwrap();
                }
                Event::Incoming(Packet::Publish(p)) => return (p.topic, p.payload.to_vec()),
                _ => {}
            }
        }
    })
    .await
    .expect("the message arrived");
    assert_eq!(received, ("devices/gw-1/telemetry".to_string(), payload));
}
