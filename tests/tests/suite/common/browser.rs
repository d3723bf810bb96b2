//! A headless Chromium driven over WebDriver (W3C, JSON over HTTP) by Debian's ChromeDriver,
//! for tests that type into a page and click: the driver takes the port the OS assigns and
//! says which on its first lines; the session and the driver end when the browser is dropped.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// The key under which WebDriver names an element.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

pub struct Browser {
    driver: Child,
    session: String,
    http: reqwest::Client,
    _profile: tempfile::TempDir,
}

fn installed(candidates: &[&'static str]) -> &'static str {
    candidates.iter().copied().find(|path| std::path::Path::new(path).exists()).unwrap_or_else(|| {
        panic!("{} is needed: `bash scripts/install-deps` installs Debian's chromium and chromium-driver packages", candidates[0])
    })
}

/// Starts ChromeDriver on a port of the OS's choosing and reads the port back.
fn start_driver() -> (Child, u16) {
    let mut driver = Command::new(installed(&["/usr/bin/chromedriver"])).arg("--port=0").stdout(Stdio::piped()).stderr(Stdio::null()).spawn().expect("chromedriver starts");
    let mut lines = BufReader::new(driver.stdout.take().unwrap()).lines();
    let marker = "started successfully on port ";
    let port = loop {
        let line = lines.next().expect("chromedriver said on which port it listens").unwrap();
        if let Some(at) = line.find(marker) {
            break line[at + marker.len()..].trim_end_matches('.').parse().expect("a port number");
        }
    };
    // The driver keeps writing to stdout; draining it keeps a full pipe from stalling it.
    std::thread::spawn(move || lines.for_each(drop));
    (driver, port)
}

impl Browser {
    pub async fn start() -> Browser {
        let (driver, port) = tokio::task::spawn_blocking(start_driver).await.unwrap();
        let profile = tempfile::tempdir().unwrap();
        let http = reqwest::Client::new();
        let capabilities = json!({ "capabilities": { "alwaysMatch": { "browserName": "chrome", "goog:chromeOptions": {
            "binary": installed(&["/usr/bin/chromium", "/usr/bin/chromium-browser"]),
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync", format!("--user-data-dir={}", profile.path().display())] } } } });
        let base = format!("http://127.0.0.1:{port}");
        let answer: Value = http.post(format!("{base}/session")).json(&capabilities).send().await.unwrap().json().await.unwrap();
        let session = answer["value"]["sessionId"].as_str().unwrap_or_else(|| panic!("no WebDriver session: {answer}"));
        Browser { session: format!("{base}/session/{session}"), driver, http, _profile: profile }
    }

    async fn command(&self, path: &str, body: Value) -> Value {
        let response = self.http.post(format!("{}{path}", self.session)).json(&body).send().await.unwrap();
        // WebDriver answers an error with a 4xx or 5xx and `{"value": {"error", "message"}}`.
        let status = response.status();
        let answer: Value = response.json().await.unwrap();
        assert!(status.is_success(), "WebDriver {path} failed: {answer}");
        answer["value"].clone()
    }

    pub async fn open(&self, url: &str) {
        self.command("/url", json!({ "url": url })).await;
    }

    async fn element(&self, css: &str) -> String {
        let found = self.command("/element", json!({ "using": "css selector", "value": css })).await;
        found[ELEMENT].as_str().unwrap().to_owned()
    }

    /// Replaces the text of the input or text area `css` with `text`.
    pub async fn fill(&self, css: &str, text: &str) {
        let element = self.element(css).await;
        self.command(&format!("/element/{element}/clear"), json!({})).await;
        self.command(&format!("/element/{element}/value"), json!({ "text": text })).await;
    }

    pub async fn click(&self, css: &str) {
        let element = self.element(css).await;
        self.command(&format!("/element/{element}/click"), json!({})).await;
    }

    /// Runs `script` (a function body) in the page and returns what it returns.
    pub async fn eval(&self, script: &str) -> Value {
        self.command("/execute/sync", json!({ "script": script, "args": [] })).await
    }

    /// Waits until `script` returns something other than `null` or `false`, and returns it;
    /// fails the test after a minute.
    pub async fn wait_for(&self, what: &str, script: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let value = self.eval(script).await;
            if !(value.is_null() || value == Value::Bool(false)) {
                return value;
            }
            assert!(Instant::now() < deadline, "timed out waiting until {what}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Ending the session closes Chromium; killing the driver ends what is left.
        let session = self.session.clone();
        let _ = std::thread::spawn(move || reqwest::blocking::Client::new().delete(session).timeout(Duration::from_secs(10)).send()).join();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
