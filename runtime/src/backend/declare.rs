//! The connection type of each backend keyword of `databases!`, as a macro: a backend whose
//! cargo feature is off expands to an error that says which feature to turn on, at the
//! keyword the user wrote, and to another backend's connection type, so that the one error
//! is the only one.

/// Names a type in a position where an error is also emitted: the stand-in connection type
/// of a backend whose feature is off.
#[doc(hidden)]
pub trait StandIn<const ERROR: usize> {
    /// `Self`.
    type Is;
}

impl<T, const ERROR: usize> StandIn<ERROR> for T {
    type Is = T;
}

macro_rules! backend_macro {
    ($name:ident, $feature:literal, $connection:ident) => {
        #[cfg(feature = $feature)]
        #[doc(hidden)]
        #[macro_export]
        macro_rules! $name {
            () => {
                $crate::$connection
            };
        }

        #[cfg(not(feature = $feature))]
        #[doc(hidden)]
        #[macro_export]
        macro_rules! $name {
            () => {
                $crate::__diesel_route_any_backend!(::core::compile_error!(::core::concat!(
                    "the `",
                    $feature,
                    "` backend needs the cargo feature `",
                    $feature,
                    "` of diesel-route: `diesel-route = { version = \"0.1\", features = [\"",
                    $feature,
                    "\"] }`"
                )))
            };
        }
    };
}

backend_macro!(__diesel_route_backend_postgres, "postgres", PgConnection);
backend_macro!(__diesel_route_backend_mysql, "mysql", MysqlConnection);
backend_macro!(__diesel_route_backend_sqlite, "sqlite", SqliteConnection);

/// `$error`, then a connection type of a backend that is compiled in, as a stand-in.
#[cfg(feature = "sqlite")]
#[doc(hidden)]
#[macro_export]
macro_rules! __diesel_route_any_backend {
    ($error:expr) => {
        <$crate::SqliteConnection as $crate::__private::StandIn<
            {
                $error;
                0
            },
        >>::Is
    };
}

#[cfg(all(not(feature = "sqlite"), feature = "postgres"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __diesel_route_any_backend {
    ($error:expr) => {
        <$crate::PgConnection as $crate::__private::StandIn<
            {
                $error;
                0
            },
        >>::Is
    };
}

#[cfg(all(not(feature = "sqlite"), not(feature = "postgres")))]
#[doc(hidden)]
#[macro_export]
macro_rules! __diesel_route_any_backend {
    ($error:expr) => {
        <$crate::MysqlConnection as $crate::__private::StandIn<
            {
                $error;
                0
            },
        >>::Is
    };
}
