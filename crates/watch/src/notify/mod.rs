//! Notifications: the dispatcher that delivers the engine's outbox to the channels
//! its routes pick ([`dispatch`]), one payload per channel kind ([`payload`]), the
//! email channel ([`email`]) and `test-alert` ([`test_alert`]).
//!
//! A new channel goes here: its settings in `config::ChannelConfig`, its payload in
//! `payload`, its delivery in `dispatch::Sender`.

pub mod dispatch;
pub mod email;
mod group_send;
pub mod payload;
pub mod test_alert;

#[cfg(test)]
mod tests_email;
#[cfg(test)]
mod tests_failing;
#[cfg(test)]
mod tests_payload;
