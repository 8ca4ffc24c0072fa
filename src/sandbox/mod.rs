pub mod fake_ksc;
