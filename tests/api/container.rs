//! What the container image relies on, checked without a container engine: the Dockerfile's
//! runtime defaults are a configuration the server accepts, its entrypoint starts the server,
//! and its health check command tells a live server from a dead one.

use std::collections::HashMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use kaspersky_msp_bridge::adapters::config::Settings;

const BINARY: &str = "kaspersky-msp-bridge";

/// The runtime stage of the Dockerfile: its instructions, continuation lines joined.
struct Image {
    instructions: Vec<(String, String)>,
}

impl Image {
    fn load() -> Image {
        let text =
            std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("Dockerfile"))
                .unwrap();
        let mut joined = Vec::new();
        let mut current = String::new();
        for line in text.lines().map(str::trim) {
            if line.starts_with('#') || line.is_empty() {
                continue;
            }
            match line.strip_suffix('\\') {
                Some(part) => current.push_str(part),
                None => {
                    current.push_str(line);
                    joined.push(std::mem::take(&mut current));
                }
            }
        }
        let last_from = joined.iter().rposition(|l| l.starts_with("FROM ")).unwrap();
        let instructions = joined[last_from..]
            .iter()
            .map(|l| {
                let (name, rest) = l.split_once(' ').unwrap();
                (name.to_string(), rest.trim().to_string())
            })
            .collect();
        Image { instructions }
    }

    fn all(&self, name: &str) -> Vec<&str> {
        self.instructions
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    fn one(&self, name: &str) -> &str {
        let found = self.all(name);
        assert_eq!(found.len(), 1, "one {name} in the runtime stage");
        found[0]
    }

    /// `ENV A=1 B=2` lines (the Dockerfile's form), as a map.
    fn env(&self) -> HashMap<String, String> {
        self.all("ENV")
            .iter()
            .flat_map(|line| line.split_whitespace())
            .map(|pair| {
                let (k, v) = pair.split_once('=').expect("ENV KEY=value");
                (k.to_string(), v.to_string())
            })
            .collect()
    }

    /// An exec-form command (`["a", "b"]`).
    fn exec(text: &str) -> Vec<String> {
        serde_json::from_str(text).unwrap_or_else(|e| panic!("{text} is not exec form: {e}"))
    }

    fn command(&self) -> Vec<String> {
        let mut command = Image::exec(self.one("ENTRYPOINT"));
        command.extend(Image::exec(self.one("CMD")));
        command
    }

    fn healthcheck(&self) -> Vec<String> {
        let line = self.one("HEALTHCHECK");
        let (_, command) = line.split_once("CMD ").expect("HEALTHCHECK … CMD [...]");
        Image::exec(command)
    }
}

/// The image's command run here: the test binary for the image's, with `env`.
fn start(command: &[String], env: &HashMap<String, String>) -> Command {
    assert_eq!(command[0], BINARY, "the image runs the binary from PATH");
    let mut process = Command::new(env!("CARGO_BIN_EXE_kaspersky-msp-bridge"));
    process.args(&command[1..]).env_clear().envs(env);
    process
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn the_image_defaults_are_a_valid_configuration() {
    let image = Image::load();
    let env = image.env();
    assert_eq!(env["BRIDGE_BIND"], "0.0.0.0:8080");
    let data_dir = &env["BRIDGE_DATA_DIR"];
    assert!(Path::new(data_dir).is_absolute(), "{data_dir}");
    let settings = Settings::from_lookup(|k| env.get(k).cloned()).unwrap();
    assert_eq!(settings.bind.to_string(), "0.0.0.0:8080");
    assert_eq!(settings.data_dir, Path::new(data_dir));
    assert!(!settings.is_postgres());
    // The data live on the volume, the port is the one listened on, nobody runs as root.
    assert_eq!(Image::exec(image.one("VOLUME")), vec![data_dir.clone()]);
    assert_eq!(image.one("EXPOSE"), settings.bind.port().to_string());
    assert_eq!(image.one("WORKDIR"), data_dir);
    let user = image.one("USER");
    assert!(
        !user.starts_with("root") && !user.starts_with("0"),
        "{user}"
    );
    assert_eq!(image.command(), vec![BINARY, "serve"]);
    assert_eq!(image.healthcheck(), vec![BINARY, "healthcheck"]);
}

#[test]
fn the_entrypoint_serves_and_the_health_check_tells_live_from_dead() {
    let image = Image::load();
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    // The image's environment, but on loopback and in a directory of our own.
    let mut env = image.env();
    env.insert("BRIDGE_DATA_DIR".into(), dir.path().display().to_string());
    let mut server_env = env.clone();
    server_env.insert("BRIDGE_BIND".into(), format!("127.0.0.1:{port}"));
    server_env.insert("BRIDGE_SCHEDULER".into(), "off".into());
    let server = start(&image.command(), &server_env)
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let server = Server(server);
    // As inside the container: the server listens on every address, the check asks loopback.
    env.insert("BRIDGE_BIND".into(), format!("0.0.0.0:{port}"));
    let check = || {
        start(&image.healthcheck(), &env)
            .current_dir(dir.path())
            .output()
            .unwrap()
    };
    let mut healthy = None;
    for _ in 0..300 {
        let output = check();
        if output.status.success() {
            healthy = Some(output);
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let healthy = healthy.expect("the server became healthy");
    let said = String::from_utf8_lossy(&healthy.stdout).to_string();
    assert!(
        said.contains(&format!("http://127.0.0.1:{port}/healthz")),
        "{said}"
    );
    assert!(dir.path().join("bridge.db").is_file());

    drop(server);
    let dead = check();
    assert_eq!(dead.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&dead.stderr).starts_with("unhealthy: "));
}
