//! Request counters for `/metrics` (Prometheus text format 0.0.4).

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;

/// Per route pattern, per status: request count and summed seconds.
type Counters = BTreeMap<String, BTreeMap<u16, (u64, f64)>>;

#[derive(Default)]
pub struct Metrics {
    requests: Mutex<Counters>,
}

impl Metrics {
    /// Counts one request. The route string is copied only the first time it is seen.
    pub fn record(&self, route: &str, status: u16, seconds: f64) {
        let Ok(mut map) = self.requests.lock() else {
            return;
        };
        let statuses = match map.get_mut(route) {
            Some(statuses) => statuses,
            None => map.entry(route.to_owned()).or_default(),
        };
        let entry = statuses.entry(status).or_insert((0, 0.0));
        entry.0 += 1;
        entry.1 += seconds;
    }

    pub fn render(&self) -> String {
        let map = match self.requests.lock() {
            Ok(map) => map.clone(),
            Err(_) => Counters::new(),
        };
        let mut out = String::new();
        out.push_str("# HELP clearance_http_requests_total HTTP requests by route and status.\n");
        out.push_str("# TYPE clearance_http_requests_total counter\n");
        for (route, statuses) in &map {
            for (status, (count, _)) in statuses {
                let _ = writeln!(
                    out,
                    "clearance_http_requests_total{{route=\"{route}\",status=\"{status}\"}} {count}"
                );
            }
        }
        out.push_str("# HELP clearance_http_request_duration_seconds_sum Time spent answering, by route and status.\n");
        out.push_str("# TYPE clearance_http_request_duration_seconds_sum counter\n");
        for (route, statuses) in &map {
            for (status, (_, seconds)) in statuses {
                let _ = writeln!(
                    out,
                    "clearance_http_request_duration_seconds_sum{{route=\"{route}\",status=\"{status}\"}} {seconds:.6}"
                );
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_renders() {
        let m = Metrics::default();
        m.record("/token", 200, 0.5);
        m.record("/token", 200, 0.25);
        m.record("/token", 400, 0.1);
        let text = m.render();
        assert!(text.contains("clearance_http_requests_total{route=\"/token\",status=\"200\"} 2"));
        assert!(text.contains("clearance_http_requests_total{route=\"/token\",status=\"400\"} 1"));
        assert!(text.contains(
            "clearance_http_request_duration_seconds_sum{route=\"/token\",status=\"200\"} 0.750000"
        ));
    }
}
