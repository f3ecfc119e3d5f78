//! End-to-end tests, linked into one binary (one link of wasmtime and the host instead of one per file).

mod api;
mod api_matrix;
mod audit;
mod canned;
mod capabilities;
mod cascades;
mod catalog;
mod containment;
mod crash;
mod demo;
mod email;
mod engine;
mod helpdesk;
mod loading;
mod log_file;
mod outage;
mod profiles;
mod providers;
mod reload;
mod rules;
mod serve;
mod smtp;
mod time_counts;
mod time_events;
mod web_call;
