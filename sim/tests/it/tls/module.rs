//! The simulated module as a host drives it for secure MQTT, in raw AT:
//! stream imports (§3.3), security profile settings (§3.2, §3.4), the MQTT
//! profile with op 11 (§6.9), login, publish, logout.

use std::path::Path;
use std::time::Duration;

use lexi_sim::{SimHandle, Simulator, TlsConnection};
use tokio::io::DuplexStream;

use crate::common::{fast_config, registered, Host};

/// One simulated module with its own NVM directory.
pub struct Module {
    pub sim: SimHandle,
    host: Host<DuplexStream>,
}

/// How a login ended, and every URC line that came with it.
#[derive(Debug)]
pub struct Login {
    pub ok: bool,
    /// The lines from the `OK` of `AT+UMQTTC=1` to `+UUMQTTC: 1,<r>`.
    pub urcs: Vec<String>,
}

impl Module {
    pub async fn start(nvm_dir: &Path) -> Module {
        Self::start_with_imei(nvm_dir, None).await
    }

    /// `imei`: another module than the default one (another root of trust).
    pub async fn start_with_imei(nvm_dir: &Path, imei: Option<&str>) -> Module {
        let mut cfg = fast_config(nvm_dir);
        // Only a hang bound, after the time scale: 10 s.
        cfg.mqtt_login_timeout = Duration::from_secs(10_000);
        if let Some(imei) = imei {
            cfg.imei = imei.to_string();
        }
        let (sim, io) = Simulator::spawn_duplex(cfg).unwrap();
        assert!(
            sim.wait_ready(crate::common::PATIENCE).await,
            "did not boot"
        );
        let mut host = Host::new(io);
        host.write(b"ATE0\r").await;
        host.read_until("OK\r\n").await;
        registered(&sim).await;
        let mut module = Module { sim, host };
        module.ok("AT+CMEE=1").await;
        module
    }

    /// Sends `line`; its whole answer (which must end in `OK`).
    pub async fn ok(&mut self, line: &str) -> String {
        let answer = self.answer(line).await;
        assert!(answer.ends_with("\r\nOK\r\n"), "{line}: {answer:?}");
        answer
    }

    /// Sends `line`; its answer up to the final result, whatever it is.
    pub async fn answer(&mut self, line: &str) -> String {
        self.host.write(format!("{line}\r").as_bytes()).await;
        let mut answer = String::new();
        loop {
            answer.push_str(&self.host.read_until("\r\n").await);
            let last = answer.trim_end().rsplit("\r\n").next().unwrap_or("");
            if last == "OK" || last == "ERROR" || last.starts_with("+CME ERROR") {
                return answer;
            }
        }
    }

    /// `AT+USECMNG=0,<type>,"<name>",<size>`, `>`, the PEM bytes: the MD5
    /// the module answers.
    pub async fn import(&mut self, kind: u8, name: &str, pem: &[u8]) -> String {
        let line = format!("AT+USECMNG=0,{kind},\"{name}\",{}\r", pem.len());
        self.host.write(line.as_bytes()).await;
        assert_eq!(self.host.read_until_bytes(b">").await, b"\r\n>");
        self.host.write(pem).await;
        let answer = self.host.read_until("OK\r\n").await;
        let prefix = format!("\r\n+USECMNG: 0,{kind},\"{name}\",\"");
        let md5 = answer
            .strip_prefix(&prefix)
            .and_then(|rest| rest.strip_suffix("\"\r\n\r\nOK\r\n"))
            .unwrap_or_else(|| panic!("import of {name}: {answer:?}"));
        md5.to_string()
    }

    /// Each `AT+USECPRF=<profile>,<setting>` in turn.
    pub async fn security_profile(&mut self, profile: u8, settings: &[&str]) {
        self.ok(&format!("AT+USECPRF={profile}")).await;
        for setting in settings {
            self.ok(&format!("AT+USECPRF={profile},{setting}")).await;
        }
    }

    /// The MQTT profile: `localhost:<port>`, secure with `security_profile`.
    pub async fn mqtt_profile(&mut self, client_id: &str, port: u16, security_profile: u8) {
        self.ok(&format!("AT+UMQTT=0,\"{client_id}\"")).await;
        self.ok(&format!("AT+UMQTT=3,\"localhost\",{port}")).await;
        self.ok("AT+UMQTT=10,30").await;
        self.ok(&format!("AT+UMQTT=11,1,{security_profile}")).await;
    }

    /// `AT+UMQTTC=1` and what came until its verdict.
    pub async fn login(&mut self) -> Login {
        self.login_start().await;
        self.login_verdict().await
    }

    /// `AT+UMQTTC=1` and its `OK`.
    pub async fn login_start(&mut self) {
        assert_eq!(self.answer("AT+UMQTTC=1").await, "\r\nOK\r\n");
    }

    /// What came after the login's `OK` until its verdict.
    pub async fn login_verdict(&mut self) -> Login {
        let got = self.host.read_until("\r\n+UUMQTTC: 1,").await;
        let verdict = self.host.read_until("\r\n").await;
        let urcs = got
            .split("\r\n")
            .filter(|l| !l.is_empty() && !l.starts_with("+UUMQTTC: 1,"))
            .map(str::to_string)
            .collect();
        Login {
            ok: verdict == "1\r\n",
            urcs,
        }
    }

    /// `AT+UMQTTER`'s `<class>,<code>`.
    pub async fn mqtt_error(&mut self) -> String {
        let answer = self.ok("AT+UMQTTER").await;
        answer
            .trim()
            .strip_prefix("+UMQTTER: ")
            .and_then(|rest| rest.split("\r\n").next())
            .unwrap_or_else(|| panic!("{answer:?}"))
            .to_string()
    }

    /// A text publish at QoS 1, confirmed by `+UUMQTTC: 2,1`.
    pub async fn publish(&mut self, topic: &str, message: &str) {
        self.ok(&format!("AT+UMQTTC=2,1,0,0,\"{topic}\",\"{message}\""))
            .await;
        assert_eq!(
            self.host.read_until("+UUMQTTC: 2,").await,
            "\r\n+UUMQTTC: 2,"
        );
        assert_eq!(self.host.read_until("\r\n").await, "1\r\n");
    }

    pub async fn logout(&mut self) {
        self.ok("AT+UMQTTC=0").await;
        assert_eq!(
            self.host.read_until("+UUMQTTC: 0,1\r\n").await,
            "\r\n+UUMQTTC: 0,1\r\n"
        );
    }

    /// `AT+USECPRF=<p>,13,<3|13>`: the base64 data and the size given.
    pub async fn session_data(&mut self, profile: u8, op: u8) -> (String, usize) {
        let answer = self.ok(&format!("AT+USECPRF={profile},13,{op}")).await;
        let prefix = format!("\r\n+USECPRF: {profile},13,{op},");
        let fields = answer
            .strip_prefix(&prefix)
            .and_then(|rest| rest.split("\r\n").next())
            .unwrap_or_else(|| panic!("{answer:?}"));
        let (data, size) = fields.rsplit_once(',').unwrap();
        (data.to_string(), size.parse().unwrap())
    }

    /// The control socket's `status` reply (as `lexi-sim ctl` shows it).
    pub async fn status(&self, socket_dir: &Path) -> String {
        let path = socket_dir.join("ctl.sock");
        let _control = lexi_sim::control::ControlSocket::bind(&path, self.sim.clone()).unwrap();
        // The client blocks; the simulator answers on this runtime.
        let reply =
            tokio::task::spawn_blocking(move || lexi_sim::control::send_command(&path, "status"))
                .await
                .unwrap();
        match reply {
            Ok(lexi_sim::control::Reply::Ok(text)) => text,
            other => panic!("status: {other:?}"),
        }
    }

    /// The handshakes the module made, in order.
    pub async fn handshakes(&self) -> Vec<TlsConnection> {
        self.sim.snapshot().await.unwrap().tls_connections
    }
}
