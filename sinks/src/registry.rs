//! The list of sink types. A new sink is one module plus one line in `sinks!` below.

use crate::{BuildSink, Healthcheck, Sink, SinkError};

macro_rules! sinks {
    ($($variant:ident => $config:ty),* $(,)?) => {
        /// A parsed `[sinks.NAME]` table, by type.
        #[derive(Debug)]
        pub enum SinkConfig {
            $($variant($config),)*
        }

        impl SinkConfig {
            /// Every accepted `type` value.
            pub const TYPES: &'static [&'static str] = &[$(<$config as BuildSink>::TYPE,)*];

            /// Deserialize the table of a sink of type `kind`; `None` when no sink has that
            /// type.
            pub fn deserialize<'de, D: serde::Deserializer<'de>>(kind: &str, table: D) -> Option<Result<SinkConfig, D::Error>> {
                $(
                    if kind == <$config as BuildSink>::TYPE {
                        return Some(<$config as serde::Deserialize>::deserialize(table).map(SinkConfig::$variant));
                    }
                )*
                None
            }

            /// The `type` value of this configuration.
            pub fn kind(&self) -> &'static str {
                match self {
                    $(SinkConfig::$variant(_) => <$config as BuildSink>::TYPE,)*
                }
            }

            /// One line for `check-config`, secrets masked.
            pub fn describe(&self) -> String {
                match self {
                    $(SinkConfig::$variant(c) => c.describe(),)*
                }
            }

            /// Build the running sink and its health check.
            pub fn build(self, name: &str) -> Result<(Box<dyn Sink>, Healthcheck), SinkError> {
                match self {
                    $(SinkConfig::$variant(c) => c.build(name),)*
                }
            }
        }
    };
}

sinks! {
    Stdout => crate::stdout::Config,
    Csv => crate::csv::Config,
}
