//! The throttle of a sink with an `interval`: one reading per interval of telegram time and
//! source, the last one or the mean of its gauges, so a dashboard gets a steady rate.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use dsmrd_sinks::{FieldKind, FieldValue, Reading};

use crate::config::Aggregate;

/// The throttle of one sink: a [`Window`] per source, so that two meters on one sink are
/// each throttled (and averaged) on their own.
pub(crate) struct Throttle {
    interval: Duration,
    aggregate: Aggregate,
    windows: Vec<(Arc<str>, Window)>,
}

impl Throttle {
    pub(crate) fn new(interval: Duration, aggregate: Aggregate) -> Throttle {
        Throttle { interval, aggregate, windows: Vec::new() }
    }

    /// Add a reading; returns the output of its source's window if that just closed.
    pub(crate) fn push(&mut self, r: Reading) -> Option<Reading> {
        if self.interval.is_zero() {
            return Some(r);
        }
        let at = match self.windows.iter().position(|(source, _)| *source == r.source) {
            Some(at) => at,
            None => {
                self.windows.push((r.source.clone(), Window::new(self.interval, self.aggregate)));
                self.windows.len() - 1
            }
        };
        self.windows[at].1.push(r)
    }

    /// Close every open window, in the order the sources first came.
    pub(crate) fn finish(&mut self) -> impl Iterator<Item = Reading> + '_ {
        self.windows.iter_mut().filter_map(|(_, w)| w.finish())
    }

    /// How many windows hold a reading that is still to come out.
    pub(crate) fn open(&self) -> usize {
        self.windows.iter().filter(|(_, w)| w.last.is_some()).count()
    }

    /// Throw away the open windows (the sink is gone, or shutdown ran out of time): how
    /// many outputs they held, to be counted as dropped.
    pub(crate) fn give_up(&mut self) -> usize {
        self.finish().count()
    }
}

/// One source's throttle: one output per `interval` of telegram time. Windows follow the
/// readings' own timestamps, so a fast replay is throttled exactly like the live meter was.
struct Window {
    interval_ms: i64,
    aggregate: Aggregate,
    key: Option<i64>,
    last: Option<Reading>,
    /// Sum and count of every gauge field in the current window.
    sums: HashMap<dsmrd_sinks::Text, Sum>,
}

/// A sum of meter values for a mean. Meters send decimals (`0.193`); summed as integers of
/// nanounits and divided once, six readings of 0.193 average to 0.193, where a float sum
/// gives 0.19300000000000003.
#[derive(Debug, Default)]
struct Sum {
    /// The values in units of 1e-9, while every value is such a decimal.
    nanos: Option<i128>,
    float: f64,
    n: u32,
}

impl Sum {
    const SCALE: f64 = 1e9;

    fn add(&mut self, v: f64) {
        let scaled = (v * Self::SCALE).round();
        let exact = scaled.abs() < 1e30 && scaled / Self::SCALE == v;
        self.nanos = match (self.n, self.nanos) {
            (0, _) if exact => Some(scaled as i128),
            (_, Some(sum)) if exact => Some(sum + scaled as i128),
            _ => None,
        };
        self.float += v;
        self.n += 1;
    }

    fn mean(&self) -> Option<f64> {
        if self.n == 0 {
            return None;
        }
        let n = f64::from(self.n);
        Some(match self.nanos {
            Some(nanos) => nanos as f64 / (n * Self::SCALE),
            None => self.float / n,
        })
    }
}

impl Window {
    fn new(interval: Duration, aggregate: Aggregate) -> Window {
        Window {
            interval_ms: i64::try_from(interval.as_millis()).unwrap_or(i64::MAX),
            aggregate,
            key: None,
            last: None,
            sums: HashMap::new(),
        }
    }

    /// Add a reading; returns the output of a window that just closed.
    fn push(&mut self, r: Reading) -> Option<Reading> {
        if self.interval_ms == 0 {
            return Some(r);
        }
        let key = r.time.as_millisecond().div_euclid(self.interval_ms);
        let out = if self.key.is_some_and(|k| k != key) { self.finish() } else { None };
        self.key = Some(key);
        if self.aggregate == Aggregate::Mean {
            for f in r.fields.iter().filter(|f| f.kind == FieldKind::Gauge) {
                if let FieldValue::Number(v) = f.value {
                    self.sums.entry(f.name.clone()).or_default().add(v);
                }
            }
        }
        self.last = Some(r);
        out
    }

    /// Close the current window.
    fn finish(&mut self) -> Option<Reading> {
        self.key = None;
        let mut out = self.last.take()?;
        if self.aggregate == Aggregate::Mean {
            for f in out.fields.iter_mut().filter(|f| f.kind == FieldKind::Gauge) {
                if let Some(mean) = self.sums.get(&f.name).and_then(Sum::mean) {
                    f.value = FieldValue::Number(mean);
                }
            }
        }
        self.sums.clear();
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dsmrd_sinks::Field;
    use jiff::Timestamp;

    fn reading(secs: i64, power: f64, energy: f64) -> Reading {
        let f = |name: &'static str, v: f64, kind| Field {
            name: name.into(),
            value: FieldValue::Number(v),
            unit: None,
            kind,
            time: None,
        };
        Reading {
            source: "m".into(),
            meter_id: None,
            time: Timestamp::from_second(secs).unwrap(),
            time_from_meter: true,
            fields: vec![
                f("current_electricity_usage", power, FieldKind::Gauge),
                f("electricity_used_tariff_1", energy, FieldKind::Counter),
            ],
            series: vec![],
        }
    }

    #[test]
    fn a_mean_of_meter_decimals_has_no_float_noise() {
        let mean = |values: &[f64]| {
            let mut s = Sum::default();
            values.iter().for_each(|&v| s.add(v));
            s.mean()
        };
        assert_eq!(mean(&[0.193; 6]), Some(0.193));
        assert_eq!(mean(&[0.1, 0.2]), Some(0.15));
        assert_eq!(mean(&[230.1, 230.2, 230.4]), Some(230.233_333_333_333_33));
        assert_eq!(mean(&[-0.5, 0.25]), Some(-0.125));
        // A value that is no decimal of nine places or fewer: the float mean.
        assert_eq!(mean(&[1.0 / 3.0, 1.0 / 3.0]), Some(1.0 / 3.0));
        // Such a value after decimals: the float mean from there on, the decimals' sum not
        // kept with the value rounded into it.
        assert_eq!(mean(&[0.193, 1e-10]), Some((0.193 + 1e-10) / 2.0));
        assert_eq!(mean(&[1e-10, 0.5]), Some((1e-10 + 0.5) / 2.0));
        assert_eq!(mean(&[0.5, 0.25, 1.0 / 3.0]), Some((0.5 + 0.25 + 1.0 / 3.0) / 3.0));
        assert_eq!(mean(&[]), None);
        // A float sum would say otherwise.
        assert_ne!([0.193f64; 6].iter().sum::<f64>() / 6.0, 0.193);
    }

    #[test]
    fn mean_averages_gauges_and_keeps_the_last_counter() {
        let mut w = Window::new(Duration::from_secs(10), Aggregate::Mean);
        assert!(w.push(reading(100, 1.0, 5.0)).is_none());
        assert!(w.push(reading(105, 2.0, 6.0)).is_none());
        let out = w.push(reading(110, 9.0, 7.0)).expect("window closed");
        assert_eq!(out.number("current_electricity_usage"), Some(1.5));
        assert_eq!(out.number("electricity_used_tariff_1"), Some(6.0));
        assert_eq!(out.time.as_second(), 105);
        let last = w.finish().expect("open window");
        assert_eq!(last.number("current_electricity_usage"), Some(9.0));
    }

    #[test]
    fn last_keeps_one_reading_per_interval_and_zero_keeps_all() {
        let mut w = Window::new(Duration::from_secs(10), Aggregate::Last);
        let outs: Vec<Reading> = (0..35).filter_map(|s| w.push(reading(1000 + s, s as f64, 0.0))).collect();
        assert_eq!(outs.iter().map(|r| r.time.as_second()).collect::<Vec<_>>(), vec![1009, 1019, 1029]);
        let mut all = Window::new(Duration::ZERO, Aggregate::Mean);
        assert!(all.push(reading(1, 1.0, 1.0)).is_some());
    }

    #[test]
    fn two_sources_on_one_sink_are_throttled_and_averaged_each_on_its_own() {
        let from = |source: &str, secs, power| Reading { source: source.into(), ..reading(secs, power, 0.0) };
        let mut t = Throttle::new(Duration::from_secs(60), Aggregate::Mean);
        let mut outs = Vec::new();
        for s in 0..3 {
            // Two meters, their telegrams interleaved, in the same windows of time.
            outs.extend(t.push(from("house", 1200 + 20 * s, 1.0 + s as f64)));
            outs.extend(t.push(from("garage", 1205 + 20 * s, 10.0 * (1 + s) as f64)));
        }
        outs.extend(t.push(from("house", 1320, 0.0)));
        outs.extend(t.push(from("garage", 1325, 0.0)));
        let got: Vec<(String, i64, Option<f64>)> = outs
            .iter()
            .map(|r| (r.source.to_string(), r.time.as_second(), r.number("current_electricity_usage")))
            .collect();
        assert_eq!(got, vec![("house".into(), 1240, Some(2.0)), ("garage".into(), 1245, Some(20.0))]);
        // The open windows, one per source, close at the end, or are counted when given up.
        assert_eq!(t.open(), 2);
        assert_eq!(t.finish().count(), 2);
        assert_eq!(t.open(), 0);
        outs.clear();
        outs.extend(t.push(from("house", 2000, 1.0)));
        assert!(outs.is_empty());
        assert_eq!(t.open(), 1);
        assert_eq!(t.give_up(), 1);
        assert_eq!((t.open(), t.give_up()), (0, 0));
    }
}
