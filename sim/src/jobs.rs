//! Work the module starts and that completes later, outside the state machine.
//!
//! The module (pure, see [`crate::module`]) never waits: it emits
//! `Effect::StartJob(id, job)`; the I/O task hands the job to [`JobRunner`],
//! which runs it as a tokio task and posts [`JobEvent`]s back through a
//! channel; the I/O task feeds them to the module as `Input::Job`. The module
//! ignores events for jobs it no longer knows (cancelled by a reboot), so a
//! late event can never leak into the next boot.
//!
//! A job is a DNS look-up or a ping against the [`DnsTable`], or an MQTT
//! session ([`mqtt`], a real rumqttc client, or [`virtual_broker`] with
//! no network at all), or a socket ([`socket`], a real
//! loopback UDP or TCP socket). A running MQTT session also takes
//! [`MqttCommand`]s from the module (`Effect::MqttCommand`), an open socket
//! [`SocketCommand`]s (`Effect::SocketCommand`). An HTTP request ([`http`],
//! a real reqwest client) takes no commands: it runs to its end and
//! reports the response as it comes.

pub mod http;
pub mod mqtt;
pub mod socket;
pub mod virtual_broker;

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::AbortHandle;

use crate::dns::DnsTable;
pub use http::{HttpEvent, HttpFailure, HttpMethod, HttpRequest};
pub use mqtt::{MqttCommand, MqttEvent, MqttFailure, MqttLogin, MqttWill};
pub use socket::{SocketCommand, SocketEvent, SocketJob};
pub use virtual_broker::{PublishedRecord, VirtualBroker};

/// Names one started job; never reused within a simulator's life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct JobId(pub u64);

/// What to do. Durations are already scaled to real time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Job {
    /// Forward look-up of `name`, answered after `delay`.
    Resolve { name: String, delay: Duration },
    /// Reverse look-up of the address `addr`, answered after `delay`.
    Reverse { addr: String, delay: Duration },
    /// Resolve `host` (taking `resolve_delay`), then `count` echo replies,
    /// one every `rtt`. `[model]` no ICMP is sent: the replies are simulated.
    Ping {
        host: String,
        resolve_delay: Duration,
        count: u32,
        rtt: Duration,
    },
    /// An MQTT session: login, then commands until logout or loss.
    Mqtt(MqttLogin),
    /// A socket of the internal TCP/IP stack (§5), open until closed.
    Socket(SocketJob),
    /// One request of the embedded HTTP client (§7).
    Http(HttpRequest),
}

/// What a job reports back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobEvent {
    /// A forward look-up (or a ping's) finished; `None`: no such name.
    Resolved(Option<IpAddr>),
    /// A reverse look-up finished; `None`: no name for that address.
    Reversed(Option<String>),
    /// Echo reply number `seq` (1-based) arrived.
    PingReply { seq: u32 },
    /// An MQTT session reported.
    Mqtt(MqttEvent),
    /// A socket reported.
    Socket(SocketEvent),
    /// An HTTP request reported.
    Http(HttpEvent),
}

/// Runs jobs as tokio tasks and posts their events.
#[derive(Debug)]
pub struct JobRunner {
    dns: Arc<DnsTable>,
    events: mpsc::UnboundedSender<(JobId, JobEvent)>,
    /// Running tasks, so a reboot can stop them rather than let them run out.
    running: HashMap<JobId, AbortHandle>,
    /// The command inputs of running MQTT sessions.
    mqtt: HashMap<JobId, mpsc::UnboundedSender<MqttCommand>>,
    /// The command inputs of open sockets.
    sockets: HashMap<JobId, mpsc::UnboundedSender<SocketCommand>>,
    /// `Some`: MQTT sessions go to this virtual broker, not the network.
    virtual_broker: Option<VirtualBroker>,
}

impl JobRunner {
    pub fn new(dns: Arc<DnsTable>, events: mpsc::UnboundedSender<(JobId, JobEvent)>) -> Self {
        JobRunner {
            dns,
            events,
            running: HashMap::new(),
            mqtt: HashMap::new(),
            sockets: HashMap::new(),
            virtual_broker: None,
        }
    }

    /// MQTT sessions from now on talk to `broker` instead of the network.
    pub fn with_virtual_broker(mut self, broker: VirtualBroker) -> Self {
        self.virtual_broker = Some(broker);
        self
    }

    pub fn start(&mut self, id: JobId, job: Job) {
        self.running.retain(|_, task| !task.is_finished());
        self.mqtt.retain(|_, input| !input.is_closed());
        self.sockets.retain(|_, input| !input.is_closed());
        if let Job::Socket(socket) = job {
            let (tx, rx) = mpsc::unbounded_channel();
            let task = tokio::spawn(socket::run(id, socket, self.events.clone(), rx));
            self.sockets.insert(id, tx);
            self.running.insert(id, task.abort_handle());
            return;
        }
        if let Job::Http(request) = job {
            let task = tokio::spawn(http::run(
                id,
                request,
                Arc::clone(&self.dns),
                self.events.clone(),
            ));
            self.running.insert(id, task.abort_handle());
            return;
        }
        if let Job::Mqtt(login) = job {
            let (tx, rx) = mpsc::unbounded_channel();
            let dns = Arc::clone(&self.dns);
            let events = self.events.clone();
            let task = match &self.virtual_broker {
                Some(broker) => tokio::spawn(virtual_broker::run(
                    id,
                    login,
                    broker.clone(),
                    dns,
                    events,
                    rx,
                )),
                None => tokio::spawn(mqtt::run(id, login, dns, events, rx)),
            };
            self.mqtt.insert(id, tx);
            self.running.insert(id, task.abort_handle());
            return;
        }
        let dns = Arc::clone(&self.dns);
        let events = self.events.clone();
        let task = tokio::spawn(async move {
            // A send fails only when the simulator is gone: nothing to do then.
            match job {
                Job::Resolve { name, delay } => {
                    tokio::time::sleep(delay).await;
                    let _ = events.send((id, JobEvent::Resolved(dns.resolve(&name))));
                }
                Job::Reverse { addr, delay } => {
                    tokio::time::sleep(delay).await;
                    let _ = events.send((id, JobEvent::Reversed(dns.reverse(&addr))));
                }
                // Started above; never reached.
                Job::Mqtt(_) | Job::Socket(_) | Job::Http(_) => {}
                Job::Ping {
                    host,
                    resolve_delay,
                    count,
                    rtt,
                } => {
                    tokio::time::sleep(resolve_delay).await;
                    let addr = dns.resolve(&host);
                    let resolved = addr.is_some();
                    if events.send((id, JobEvent::Resolved(addr))).is_err() || !resolved {
                        return;
                    }
                    for seq in 1..=count {
                        tokio::time::sleep(rtt).await;
                        if events.send((id, JobEvent::PingReply { seq })).is_err() {
                            return;
                        }
                    }
                }
            }
        });
        self.running.insert(id, task.abort_handle());
    }

    /// Hands `command` to the running MQTT session `id`; a session that has
    /// ended drops it (the module hears of the end through its event).
    pub fn command(&mut self, id: JobId, command: MqttCommand) {
        if let Some(input) = self.mqtt.get(&id) {
            let _ = input.send(command);
        }
    }

    /// Hands `command` to the open socket `id`; a socket that has ended
    /// drops it (the module hears of the end through its event).
    pub fn socket_command(&mut self, id: JobId, command: SocketCommand) {
        if let Some(input) = self.sockets.get(&id) {
            let _ = input.send(command);
        }
    }

    pub fn cancel(&mut self, id: JobId) {
        self.mqtt.remove(&id);
        self.sockets.remove(&id);
        if let Some(task) = self.running.remove(&id) {
            task.abort();
        }
    }

    pub fn cancel_all(&mut self) {
        self.mqtt.clear();
        self.sockets.clear();
        for (_, task) in self.running.drain() {
            task.abort();
        }
    }
}

impl Drop for JobRunner {
    fn drop(&mut self) {
        self.cancel_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn runner() -> (JobRunner, mpsc::UnboundedReceiver<(JobId, JobEvent)>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let mut entries = BTreeMap::new();
        entries.insert("broker.test".to_string(), "192.0.2.1".parse().unwrap());
        (JobRunner::new(Arc::new(DnsTable::new(&entries)), tx), rx)
    }

    async fn next(rx: &mut mpsc::UnboundedReceiver<(JobId, JobEvent)>) -> (JobId, JobEvent) {
        tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .expect("job did not report")
            .expect("channel closed")
    }

    #[tokio::test]
    async fn a_ping_resolves_then_replies_count_times() {
        let (mut jobs, mut rx) = runner();
        jobs.start(
            JobId(7),
            Job::Ping {
                host: "broker.test".into(),
                resolve_delay: Duration::from_millis(1),
                count: 3,
                rtt: Duration::from_millis(1),
            },
        );
        assert_eq!(
            next(&mut rx).await,
            (
                JobId(7),
                JobEvent::Resolved(Some("192.0.2.1".parse().unwrap()))
            )
        );
        for seq in 1..=3 {
            assert_eq!(next(&mut rx).await, (JobId(7), JobEvent::PingReply { seq }));
        }
    }

    #[tokio::test]
    async fn an_unknown_name_ends_the_ping_after_resolution() {
        let (mut jobs, mut rx) = runner();
        jobs.start(
            JobId(1),
            Job::Ping {
                host: "nowhere.test".into(),
                resolve_delay: Duration::ZERO,
                count: 3,
                rtt: Duration::ZERO,
            },
        );
        assert_eq!(next(&mut rx).await, (JobId(1), JobEvent::Resolved(None)));
        jobs.start(
            JobId(2),
            Job::Reverse {
                addr: "192.0.2.1".into(),
                delay: Duration::ZERO,
            },
        );
        // The failed ping sent nothing more: the next event is the reverse look-up.
        assert_eq!(
            next(&mut rx).await,
            (JobId(2), JobEvent::Reversed(Some("broker.test".into())))
        );
    }

    #[tokio::test]
    async fn cancelled_jobs_report_nothing() {
        let (mut jobs, mut rx) = runner();
        jobs.start(
            JobId(1),
            Job::Resolve {
                name: "broker.test".into(),
                delay: Duration::from_millis(50),
            },
        );
        jobs.cancel_all();
        jobs.start(
            JobId(2),
            Job::Resolve {
                name: "localhost".into(),
                delay: Duration::from_millis(100),
            },
        );
        assert_eq!(next(&mut rx).await.0, JobId(2));
    }
}
