//! Reads and conditional writes as etcd transactions.
//!
//! Every write is one transaction whose comparison is the precondition and
//! whose failure branch reads the key, so a conflict reports the state that
//! beat it in the same round trip, as kube-apiserver's etcd3 store does.

use bytes::Bytes;
use etcd_client::{
    Compare, CompareOp, DeleteOptions, GetOptions, GetResponse, PutOptions, Txn, TxnOp,
    TxnOpResponse, TxnResponse,
};

use super::EtcdBackend;
use super::connection::{Failure, KeyMap, bounded, prefix_end};
use crate::backend::{KeyValue, RangeRequest, RangeResult, StoreError, WriteOutcome};

pub(crate) fn convert(map: &KeyMap, kv: &etcd_client::KeyValue) -> Result<KeyValue, StoreError> {
    Ok(KeyValue {
        key: map.api_key(kv.key())?,
        value: Bytes::copy_from_slice(kv.value()),
        create_revision: kv.create_revision(),
        mod_revision: kv.mod_revision(),
    })
}

fn header_revision(header: Option<&etcd_client::ResponseHeader>) -> Result<i64, StoreError> {
    header
        .map(|h| h.revision())
        .ok_or_else(|| StoreError::Internal("etcd answered without a header".into()))
}

impl EtcdBackend {
    /// Turns a revision failure into the error the trait promises, which
    /// needs the bound that was crossed.
    pub(crate) async fn revision_error(&self, failure: Failure, requested: i64) -> StoreError {
        match failure {
            Failure::Compacted => match self.compacted_revision_now().await {
                Ok(compacted) => StoreError::Compacted {
                    requested,
                    compacted,
                },
                Err(e) => e,
            },
            Failure::FutureRevision => match self.revision_now().await {
                Ok(current) => StoreError::FutureRevision { requested, current },
                Err(e) => e,
            },
            Failure::Store(e) => e,
        }
    }

    /// A plain read through the KV API.
    pub(crate) async fn read(
        &self,
        key: Vec<u8>,
        options: GetOptions,
        requested: i64,
    ) -> Result<GetResponse, StoreError> {
        let mut kv = self.kv();
        match bounded(
            self.options.request_timeout,
            "a read",
            kv.get(key, Some(options)),
        )
        .await
        {
            Ok(resp) => Ok(resp),
            Err(f) => Err(self.revision_error(f, requested).await),
        }
    }

    /// The newest revision: a linearizable count of nothing.
    pub(crate) async fn revision_now(&self) -> Result<i64, StoreError> {
        let (start, _) = self.map.whole();
        let options = GetOptions::new().with_count_only();
        let mut kv = self.kv();
        let resp = bounded(
            self.options.request_timeout,
            "a revision read",
            kv.get(start, Some(options)),
        )
        .await
        .map_err(StoreError::from)?;
        header_revision(resp.header())
    }

    pub(crate) async fn get_key(
        &self,
        key: &str,
        revision: i64,
    ) -> Result<Option<KeyValue>, StoreError> {
        let mut options = GetOptions::new();
        if revision > 0 {
            options = options.with_revision(revision);
        }
        let resp = self
            .read(self.map.etcd_key(key)?, options, revision)
            .await?;
        resp.kvs()
            .first()
            .map(|kv| convert(&self.map, kv))
            .transpose()
    }

    pub(crate) async fn range_keys(&self, req: RangeRequest) -> Result<RangeResult, StoreError> {
        let (start, end) = if self.map.contains(&req.prefix) {
            let prefix = self.map.etcd_key(&req.prefix)?;
            let end = prefix_end(&prefix);
            let start = match &req.start_after {
                // The smallest key after `s` is `s` followed by a zero byte.
                Some(s) if s.as_str() >= req.prefix.as_str() => match self.map.etcd_key(s) {
                    Ok(mut k) => {
                        k.push(0);
                        k
                    }
                    // Not under the root but after the prefix: past it all.
                    Err(_) => end.clone(),
                },
                _ => prefix,
            };
            (start, end)
        } else {
            // Nothing the backend stores can match; read an empty range to
            // still report a revision.
            let (_, end) = self.map.whole();
            (end.clone(), end)
        };
        let mut options = GetOptions::new().with_range(end);
        if req.limit > 0 {
            options = options.with_limit(req.limit as i64);
        }
        if req.revision > 0 {
            options = options.with_revision(req.revision);
        }
        if req.count_only {
            options = options.with_count_only();
        }
        let resp = self.read(start, options, req.revision).await?;
        let revision = if req.revision > 0 {
            req.revision
        } else {
            header_revision(resp.header())?
        };
        let kvs = resp
            .kvs()
            .iter()
            .map(|kv| convert(&self.map, kv))
            .collect::<Result<Vec<_>, _>>()?;
        let count = resp.count();
        Ok(RangeResult {
            kvs,
            // etcd leaves `more` false for count-only reads; the count says
            // the same thing for every kind of read.
            more: req.limit > 0 && count > req.limit as i64,
            count,
            revision,
        })
    }

    async fn txn(&self, txn: Txn) -> Result<TxnResponse, StoreError> {
        let mut kv = self.kv();
        bounded(self.options.request_timeout, "a write", kv.txn(txn))
            .await
            .map_err(StoreError::from)
    }

    /// The failure branch of every write reads the key.
    fn conflict(&self, resp: &TxnResponse) -> Result<WriteOutcome, StoreError> {
        let current = match resp.op_responses().first() {
            Some(TxnOpResponse::Get(get)) => get
                .kvs()
                .first()
                .map(|kv| convert(&self.map, kv))
                .transpose()?,
            _ => {
                return Err(StoreError::Internal(
                    "etcd transaction answered out of kind".into(),
                ));
            }
        };
        Ok(WriteOutcome::Conflict { current })
    }

    pub(crate) async fn create_key(
        &self,
        key: &str,
        value: Bytes,
    ) -> Result<WriteOutcome, StoreError> {
        let k = self.map.etcd_key(key)?;
        let txn = Txn::new()
            .when([Compare::create_revision(k.clone(), CompareOp::Equal, 0)])
            .and_then([TxnOp::put(k.clone(), value.to_vec(), None)])
            .or_else([TxnOp::get(k, None)]);
        let resp = self.txn(txn).await?;
        if !resp.succeeded() {
            return self.conflict(&resp);
        }
        Ok(WriteOutcome::Written {
            revision: header_revision(resp.header())?,
            previous: None,
        })
    }

    pub(crate) async fn update_key(
        &self,
        key: &str,
        value: Bytes,
        expected: i64,
    ) -> Result<WriteOutcome, StoreError> {
        let k = self.map.etcd_key(key)?;
        // A missing key compares as mod revision 0, so existence is part of
        // the condition: an update never creates.
        let txn = Txn::new()
            .when([
                Compare::mod_revision(k.clone(), CompareOp::Equal, expected),
                Compare::version(k.clone(), CompareOp::Greater, 0),
            ])
            .and_then([TxnOp::put(
                k.clone(),
                value.to_vec(),
                Some(PutOptions::new().with_prev_key()),
            )])
            .or_else([TxnOp::get(k, None)]);
        let resp = self.txn(txn).await?;
        if !resp.succeeded() {
            return self.conflict(&resp);
        }
        let previous = match resp.op_responses().first() {
            Some(TxnOpResponse::Put(put)) => put
                .prev_key()
                .map(|kv| convert(&self.map, kv))
                .transpose()?,
            _ => None,
        };
        Ok(WriteOutcome::Written {
            revision: header_revision(resp.header())?,
            previous,
        })
    }

    pub(crate) async fn delete_key(
        &self,
        key: &str,
        expected: i64,
    ) -> Result<WriteOutcome, StoreError> {
        let k = self.map.etcd_key(key)?;
        let condition = if expected == 0 {
            Compare::version(k.clone(), CompareOp::Greater, 0)
        } else {
            Compare::mod_revision(k.clone(), CompareOp::Equal, expected)
        };
        let txn = Txn::new()
            .when([condition])
            .and_then([TxnOp::delete(
                k.clone(),
                Some(DeleteOptions::new().with_prev_key()),
            )])
            .or_else([TxnOp::get(k, None)]);
        let resp = self.txn(txn).await?;
        if !resp.succeeded() {
            return self.conflict(&resp);
        }
        let previous = match resp.op_responses().first() {
            Some(TxnOpResponse::Delete(del)) => del
                .prev_kvs()
                .first()
                .map(|kv| convert(&self.map, kv))
                .transpose()?,
            _ => None,
        };
        Ok(WriteOutcome::Written {
            revision: header_revision(resp.header())?,
            previous,
        })
    }
}
