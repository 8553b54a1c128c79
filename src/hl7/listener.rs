//! The MLLP listeners (plain TCP and TLS): accept, cap connections, frame, and
//! answer each frame with its acknowledgement(s). Each frame goes to the
//! router (`router.rs`) with what the connection says of its tenant: the
//! listener's (for a `--mllp-tenant-addr` listener) and the client
//! certificate's grant.
//!
//! MLLP (HL7 Version 3 Standard: Transport Specification - MLLP, Release 2, and
//! HL7 v2.5.1 Appendix C) is a request/response protocol per connection: the
//! sender waits for the ACK of a message before sending the next one, so one
//! connection is served in order, while connections run independently: a slow
//! or stuck sender holds only its own task (and nothing while it is idle).

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_util::codec::Framed;

use super::config::clients::SenderGrant;
use super::config::Hl7Settings;
use super::gate::{MllpGate, Refusal, Slot};
use super::metrics::Held;
use super::route::Via;
use super::router::Router;
use super::senders::grant_of;
use crate::tenant::TenantId;
use fhirgate_hl7::mllp::{Frame, MllpCodec};

/// The longest pause after failed accepts (the first is 10 ms, doubling).
const MAX_ACCEPT_BACKOFF: Duration = Duration::from_secs(1);

/// Serves one bound listener until `shutdown` turns true, then waits for its
/// connections to finish the message each has in hand. `tls` wraps each
/// accepted stream when set; `tenant`: the tenant of a tenant listener.
async fn run(
    listener: TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
    ingest: Arc<Router>,
    tenant: Option<TenantId>,
    settings: Arc<Hl7Settings>,
    gate: Arc<MllpGate>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut connections = tokio::task::JoinSet::new();
    let metrics = &ingest.metrics().hl7;
    let tenant = tenant.map(Arc::new);
    // Failed accepts in a row: logged when the episode starts and when it ends,
    // not once per failure (issue #15: out of descriptors, accept fails at once
    // for as long as the pressure lasts).
    let mut failures: u32 = 0;
    loop {
        // Reap finished connections as we go, so the set does not grow.
        while connections.try_join_next().is_some() {}
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = shutdown.wait_for(|stop| *stop) => break,
        };
        let (stream, peer) = match accepted {
            Ok(s) => s,
            Err(e) => {
                // EMFILE, ENFILE, ENOBUFS...: the listener stays; the connections
                // already open are served by their own tasks meanwhile.
                metrics.accept_errors.fetch_add(1, Ordering::Relaxed);
                if failures == 0 {
                    tracing::warn!(error = %e, "MLLP accept failed; backing off until it succeeds again");
                }
                let pause = Duration::from_millis(10)
                    .saturating_mul(1 << failures.min(7))
                    .min(MAX_ACCEPT_BACKOFF);
                failures = failures.saturating_add(1);
                tokio::select! {
                    _ = tokio::time::sleep(pause) => {}
                    _ = shutdown.wait_for(|stop| *stop) => break,
                }
                continue;
            }
        };
        if failures > 0 {
            tracing::warn!(failures, "MLLP accept works again");
            failures = 0;
        }
        let slot = match gate.admit(peer.ip()) {
            Ok(admitted) => {
                if admitted.evicted {
                    metrics.connections_evicted.fetch_add(1, Ordering::Relaxed);
                }
                admitted.slot
            }
            Err(why) => {
                metrics.connections_refused.fetch_add(1, Ordering::Relaxed);
                if why == Refusal::Address {
                    metrics
                        .connections_refused_address
                        .fetch_add(1, Ordering::Relaxed);
                }
                tracing::warn!(%peer, reason = ?why, cap = settings.max_connections,
                    per_address = settings.max_connections_per_address,
                    "MLLP connection refused: connection cap reached");
                drop(stream);
                continue;
            }
        };
        let (ingest, settings, tls) = (ingest.clone(), settings.clone(), tls.clone());
        let (stop, tenant) = (shutdown.clone(), tenant.clone());
        connections.spawn(async move {
            let _ = stream.set_nodelay(true);
            // A sender says something soon after it connects; until its first
            // frame is complete it holds a slot for the first-frame timeout only.
            let first = Instant::now() + settings.first_frame_timeout.min(settings.idle_timeout);
            let mut conn = Conn {
                peer,
                ingest: &ingest,
                settings: &settings,
                slot,
                first,
                grant: None,
                tenant: tenant.as_deref(),
            };
            match tls {
                None => serve_connection(stream, conn, stop).await,
                Some(acceptor) => {
                    let handshake = tokio::time::timeout_at(first, acceptor.accept(stream)).await;
                    match handshake {
                        Ok(Ok(s)) => match grant_of(&settings, s.get_ref().1.peer_certificates()) {
                            Ok(grant) => {
                                conn.grant = grant;
                                serve_connection(s, conn, stop).await
                            }
                            Err(e) => {
                                tracing::warn!(%peer, error = %e, "MLLP client certificate not understood; closing")
                            }
                        },
                        Ok(Err(e)) => {
                            tracing::info!(%peer, error = %e, "MLLP TLS handshake failed")
                        }
                        Err(_) => {
                            ingest
                                .metrics()
                                .hl7
                                .first_frame_timeouts
                                .fetch_add(1, Ordering::Relaxed);
                            tracing::info!(%peer, "MLLP TLS handshake timed out")
                        }
                    }
                }
            }
        });
    }
    drop(listener);
    while connections.join_next().await.is_some() {}
}

/// One admitted connection.
struct Conn<'a> {
    peer: SocketAddr,
    ingest: &'a Router,
    settings: &'a Hl7Settings,
    /// Its slot, given back when the connection ends (or taken for another).
    slot: Slot,
    /// When its first complete frame must have arrived.
    first: Instant,
    /// The senders its client certificate may send as (None: any).
    grant: Option<SenderGrant>,
    /// The tenant of its listener, for a tenant listener.
    tenant: Option<&'a TenantId>,
}

async fn serve_connection<S>(stream: S, conn: Conn<'_>, mut shutdown: watch::Receiver<bool>)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let Conn {
        peer,
        ingest,
        settings,
        slot,
        first,
        grant,
        tenant,
    } = conn;
    let metrics = &ingest.metrics().hl7;
    let _open = Held::enter(&metrics.connections);
    tracing::debug!(%peer, "MLLP connection opened");
    let mut framed = Framed::new(stream, MllpCodec::new(settings.max_frame_bytes));
    let peer_ip = peer.ip().to_string();
    let mut framed_once = false;
    loop {
        let deadline = if framed_once {
            Instant::now() + settings.idle_timeout
        } else {
            first
        };
        // Shutdown and eviction only interrupt the wait for the next frame: a
        // message being applied is finished and answered first (or, if the
        // process dies, it was not acknowledged and the sender resends it).
        let next = tokio::select! {
            n = tokio::time::timeout_at(deadline, framed.next()) => n,
            _ = shutdown.wait_for(|stop| *stop) => {
                tracing::debug!(%peer, "MLLP connection closed for shutdown");
                break;
            }
            () = slot.evicted() => {
                tracing::info!(%peer, "idle MLLP connection closed to make room for another sender");
                break;
            }
        };
        let frame = match next {
            Err(_) if !framed_once => {
                metrics.first_frame_timeouts.fetch_add(1, Ordering::Relaxed);
                tracing::info!(%peer, secs = settings.first_frame_timeout.as_secs(), "MLLP connection sent no complete frame in time; closing");
                break;
            }
            Err(_) => {
                tracing::info!(%peer, secs = settings.idle_timeout.as_secs(), "MLLP connection idle past its timeout; closing");
                break;
            }
            Ok(None) => break,
            Ok(Some(Err(e))) => {
                tracing::warn!(%peer, error = %e, "MLLP framing error; closing the connection");
                break;
            }
            Ok(Some(Ok(Frame::Discarded(n)))) => {
                metrics
                    .discarded_bytes
                    .fetch_add(n as u64, Ordering::Relaxed);
                tracing::warn!(%peer, bytes = n, "discarded bytes outside an MLLP frame");
                continue;
            }
            Ok(Some(Ok(Frame::Message(frame)))) => frame,
        };
        framed_once = true;
        slot.busy();
        let via = Via {
            listener: tenant,
            grant: grant.as_ref(),
        };
        match ingest
            .frame(frame.to_vec(), Some(peer_ip.clone()), via)
            .await
        {
            Ok(replies) => {
                if metrics.db_outage.load(Ordering::Relaxed)
                    && metrics.db_outage.swap(false, Ordering::Relaxed)
                {
                    tracing::warn!("database available again: HL7 messages are acknowledged again");
                }
                for reply in replies {
                    if let Err(e) = framed.send(reply).await {
                        tracing::info!(%peer, error = %e, "could not send an ACK; closing");
                        return;
                    }
                }
            }
            // Not stored, so not acknowledged: closing makes the sender resend
            // (the message is not lost, and it was not applied). An outage is
            // logged once, not once per message and resend (issue #15).
            Err(e) if e.is_unavailable() => {
                metrics.unavailable.fetch_add(1, Ordering::Relaxed);
                if metrics.db_outage.swap(true, Ordering::Relaxed) {
                    tracing::debug!(%peer, error = %e, "database unavailable; HL7 message closed without ACK");
                } else {
                    tracing::error!(error = %e, "database unavailable: HL7 messages are closed without ACK (senders resend them) until it is back");
                }
                break;
            }
            Err(e) => {
                tracing::error!(%peer, error = %e, "could not store an HL7 message; closing without ACK");
                break;
            }
        }
        slot.idle();
    }
    tracing::debug!(%peer, "MLLP connection closed");
}

/// The bound MLLP ports (None: that listener is off).
#[derive(Debug, Clone, Copy, Default)]
pub struct Hl7Ports {
    pub plain: Option<u16>,
    pub tls: Option<u16>,
}

/// The running listeners, stopped together by [`Listeners::stop`].
pub struct Listeners {
    pub ports: Hl7Ports,
    /// The ports of the tenant listeners (`--mllp-tenant-addr`).
    pub tenant_ports: Vec<(TenantId, u16)>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    shutdown: watch::Sender<bool>,
}

impl Listeners {
    /// Stops accepting, lets every connection finish the message in hand, and
    /// waits for them (at most `grace`; what is left then is aborted).
    pub async fn stop(self, grace: std::time::Duration) {
        let _ = self.shutdown.send(true);
        for t in self.tasks {
            let abort = t.abort_handle();
            if tokio::time::timeout(grace, t).await.is_err() {
                abort.abort();
            }
        }
    }
}

/// Binds the configured listeners and serves them in the background. The
/// connection caps are shared by all of them.
pub async fn start(settings: &Hl7Settings, ingest: Arc<Router>) -> anyhow::Result<Listeners> {
    use anyhow::Context;
    let settings = Arc::new(settings.clone());
    let gate = Arc::new(MllpGate::new(
        settings.max_connections,
        settings.max_connections_per_address,
    ));
    let (shutdown, stop) = watch::channel(false);
    let mut ports = Hl7Ports::default();
    let mut tasks = Vec::new();
    if let Some(addr) = settings.mllp_addr {
        let l = TcpListener::bind(addr)
            .await
            .with_context(|| format!("binding the MLLP listener on {addr}"))?;
        ports.plain = Some(l.local_addr()?.port());
        tasks.push(tokio::spawn(run(
            l,
            None,
            ingest.clone(),
            None,
            settings.clone(),
            gate.clone(),
            stop.clone(),
        )));
    }
    let mut tenant_ports = Vec::new();
    for t in &settings.routing.listeners {
        let l = TcpListener::bind(t.addr).await.with_context(|| {
            format!(
                "binding the MLLP listener of tenant {} on {}",
                t.tenant, t.addr
            )
        })?;
        tenant_ports.push((t.tenant.clone(), l.local_addr()?.port()));
        tasks.push(tokio::spawn(run(
            l,
            None,
            ingest.clone(),
            Some(t.tenant.clone()),
            settings.clone(),
            gate.clone(),
            stop.clone(),
        )));
    }
    if let Some((addr, cert, key)) = &settings.mllp_tls {
        let client_auth = settings.client_auth.as_ref();
        if client_auth.is_some_and(|c| c.rules.is_empty()) {
            tracing::warn!(
                "MLLP client certificates are verified but mapped to no senders: \
                any certificate the CA signs may send as any sender"
            );
        }
        let config = crate::tls::mllp_server_config(cert, key, client_auth)?;
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let l = TcpListener::bind(addr)
            .await
            .with_context(|| format!("binding the MLLP TLS listener on {addr}"))?;
        ports.tls = Some(l.local_addr()?.port());
        tasks.push(tokio::spawn(run(
            l,
            Some(acceptor),
            ingest,
            None,
            settings.clone(),
            gate,
            stop,
        )));
    }
    Ok(Listeners {
        ports,
        tenant_ports,
        tasks,
        shutdown,
    })
}
