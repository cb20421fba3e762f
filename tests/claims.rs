//! Claims on both targets: one run holds an object at a time; another gets it once the holder
//! ends its claim, or once the holder's lease has run out (never before), and the old holder
//! can then neither renew nor end the new holder's claim.

mod common;

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use common::Sandbox;
use csvgate::sink::Target;
use csvgate::sink::claim::{Claim, Ticket};
use csvgate::store::ObjectVersion;

const LEASE: Duration = Duration::from_secs(1);
const LONG: Duration = Duration::from_secs(60);

fn object(key: &str) -> ObjectVersion {
    ObjectVersion {
        location: "file:///landing/".into(),
        key: key.into(),
        version: "100-1".into(),
        size: 100,
    }
}

async fn taken(target: &dyn Target, object: &ObjectVersion, run: &str, lease: Duration) -> Ticket {
    match target.claim(object, run, lease).await.unwrap() {
        Claim::Taken(ticket) => ticket,
        held => panic!("{run} could not claim {}: {held:?}", object.key),
    }
}

async fn holder(target: &dyn Target, object: &ObjectVersion, run: &str) -> Option<String> {
    match target.claim(object, run, LONG).await.unwrap() {
        Claim::Taken(_) => None,
        Claim::Held { run_id, .. } => Some(run_id),
    }
}

async fn one_holder_at_a_time(target: Arc<dyn Target>) {
    let target = target.as_ref();
    let jobs = object("jobs.csv");
    let first = taken(target, &jobs, "run-a", LONG).await;
    assert_eq!(
        holder(target, &jobs, "run-b").await.as_deref(),
        Some("run-a")
    );
    // A run's own claim is its own to take again.
    let again = taken(target, &jobs, "run-a", LONG).await;
    let mut renewed = again.clone();
    assert!(target.renew(&mut renewed, LONG).await.unwrap());
    assert_eq!(
        holder(target, &jobs, "run-b").await.as_deref(),
        Some("run-a")
    );
    // Another object is free.
    taken(target, &object("departments.csv"), "run-b", LONG).await;
    target.release(&renewed).await.unwrap();
    assert!(first.generation <= renewed.generation);
    taken(target, &jobs, "run-b", LONG).await;
}

async fn taken_over_once_the_lease_ran_out(target: Arc<dyn Target>) {
    let target = target.as_ref();
    let jobs = object("hired_employees_07.csv");
    let mut old = taken(target, &jobs, "run-a", LEASE).await;
    let Claim::Held { until, .. } = target.claim(&jobs, "run-b", LONG).await.unwrap() else {
        panic!("run-a's claim is live");
    };
    // Waits for the state: run-b asks until it gets the object.
    let new = common::eventually(Duration::from_secs(10), "run-b takes it over", || async {
        match target.claim(&jobs, "run-b", LONG).await.unwrap() {
            Claim::Taken(ticket) => Ok(ticket),
            Claim::Held { run_id, until } => Err(format!("held by {run_id} until {until}")),
        }
    })
    .await;
    assert!(Utc::now() >= until, "taken over before the lease ran out");
    assert!(
        !target.renew(&mut old, LONG).await.unwrap(),
        "the old holder lost it"
    );
    target.release(&old).await.unwrap();
    assert_eq!(
        holder(target, &jobs, "run-c").await.as_deref(),
        Some("run-b")
    );
    target.release(&new).await.unwrap();
    assert_eq!(holder(target, &jobs, "run-c").await, None);
}

#[tokio::test]
async fn one_run_holds_an_object_at_a_time_on_the_warehouse() {
    let sandbox = Sandbox::new();
    one_holder_at_a_time(Arc::new(sandbox.target.clone())).await;
}

#[tokio::test]
async fn one_run_holds_an_object_at_a_time_on_mariadb() {
    let (_, mysql) = common::mysql_database().await;
    one_holder_at_a_time(Arc::new(mysql)).await;
}

#[tokio::test]
async fn a_claim_is_taken_over_once_its_lease_ran_out_on_the_warehouse() {
    let sandbox = Sandbox::new();
    taken_over_once_the_lease_ran_out(Arc::new(sandbox.target.clone())).await;
}

#[tokio::test]
async fn a_claim_is_taken_over_once_its_lease_ran_out_on_mariadb() {
    let (_, mysql) = common::mysql_database().await;
    taken_over_once_the_lease_ran_out(Arc::new(mysql)).await;
}
