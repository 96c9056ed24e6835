//! Request counters for `/metrics` (Prometheus text format 0.0.4).

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;

/// Counters per (route, status): count and summed seconds.
#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, u16), (u64, f64)>>,
}

impl Metrics {
    pub fn record(&self, route: String, status: u16, seconds: f64) {
        if let Ok(mut map) = self.requests.lock() {
            let entry = map.entry((route, status)).or_insert((0, 0.0));
            entry.0 += 1;
            entry.1 += seconds;
        }
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str("# HELP clearance_http_requests_total HTTP requests by route and status.\n");
        out.push_str("# TYPE clearance_http_requests_total counter\n");
        let map = match self.requests.lock() {
            Ok(map) => map.clone(),
            Err(_) => return out,
        };
        for ((route, status), (count, _)) in &map {
            let _ = writeln!(
                out,
                "clearance_http_requests_total{{route=\"{route}\",status=\"{status}\"}} {count}"
            );
        }
        out.push_str("# HELP clearance_http_request_duration_seconds_sum Time spent answering, by route and status.\n");
        out.push_str("# TYPE clearance_http_request_duration_seconds_sum counter\n");
        for ((route, status), (_, seconds)) in &map {
            let _ = writeln!(
                out,
                "clearance_http_request_duration_seconds_sum{{route=\"{route}\",status=\"{status}\"}} {seconds:.6}"
            );
        }
        out
    }
}
