//! The bias state of the joined records: the same mergeable counts a
//! processing job folds its dataset into, and the sections they give.

use super::super::bootstrap;
use crate::bias::{self, ft::FlipTestRows, Columns, CountState as BiasState, SectionSpec, Stage};
use crate::config::AnalysisConfig;
use crate::dataset::value::Cell;
use crate::dataset::{Chunk, Schema};
use crate::error::Result;
use crate::output::Analysis;
use rayon::prelude::*;

/// Joined rows per shard a batch is cut into for counting in parallel.
const SHARD_ROWS: usize = 2048;

/// The bootstrap's random seed: intervals are reproducible run to run.
const BOOTSTRAP_SEED: u64 = 16;

/// Bias counts (and FT's rows) of the joined records, folded chunk by chunk.
pub(super) struct BiasFold {
    columns: Columns,
    state: BiasState,
    flip_test: Option<FlipTestRows>,
    pub(super) rows: u64,
}

impl BiasFold {
    pub(super) fn new(config: &AnalysisConfig, schema: &Schema) -> Result<BiasFold> {
        let columns = Columns {
            label: schema.label.expect("the table has a label"),
            predicted: schema.predicted_label,
            group: schema.group,
            facets: schema.facets.clone(),
        };
        let wants_ft = config.methods.post_training_bias.as_ref().is_some_and(|b| {
            b.methods
                .selected()
                .is_none_or(|names| names.iter().any(|n| n == "FT"))
        });
        let flip_test =
            wants_ft.then(|| FlipTestRows::new(schema.features.clone(), &columns.facets));
        Ok(BiasFold {
            state: BiasState::new(columns.facets.len()),
            columns,
            flip_test,
            rows: 0,
        })
    }

    /// Whether the fold keeps rows (FT's), and so needs every feature.
    pub(super) fn keeps_rows(&self) -> bool {
        self.flip_test.is_some()
    }

    /// Folds a batch of joined rows: cut into shards counted in parallel
    /// (each at its true first row, so first appearances are exact) and
    /// merged in order.
    pub(super) fn add(&mut self, rows: Vec<Vec<Cell>>) {
        let mut chunks = Vec::new();
        let mut rows = rows.into_iter();
        loop {
            let shard: Vec<Vec<Cell>> = rows.by_ref().take(SHARD_ROWS).collect();
            if shard.is_empty() {
                break;
            }
            let chunk = Chunk::cells(self.rows, shard);
            self.rows += chunk.len() as u64;
            chunks.push(chunk);
        }
        let counted = chunks
            .par_iter()
            .map(|chunk| BiasState::from_chunk(chunk, &self.columns))
            .reduce_with(BiasState::merge);
        if let Some(counted) = counted {
            let state = std::mem::take(&mut self.state);
            self.state = state.merge(counted);
        }
        if let (Some(ft), Some(predicted)) = (self.flip_test.as_mut(), self.columns.predicted) {
            for chunk in &chunks {
                ft.fold(chunk, &self.columns.facets, predicted);
            }
        }
    }

    /// The pre- and post-training sections the config asks for, and with
    /// `bootstrap` replicates, their metrics' confidence intervals.
    pub(super) fn finish(
        &self,
        config: &AnalysisConfig,
        schema: &Schema,
        analysis: &mut Analysis,
        bootstrap: Option<usize>,
    ) -> Result<bootstrap::Intervals> {
        let blocks = [
            (Stage::PreTraining, &config.methods.pre_training_bias),
            (Stage::PostTraining, &config.methods.post_training_bias),
        ];
        let mut sections = Vec::new();
        for (stage, block) in blocks {
            let Some(block) = block else { continue };
            let ft = match stage {
                Stage::PostTraining => self.flip_test.as_ref(),
                Stage::PreTraining => None,
            };
            let spec =
                bias::run::section_spec(config, schema, stage, block.methods.selected(), ft)?;
            let section = bias::section(&self.state, &spec)?;
            let key = match stage {
                Stage::PreTraining => "pre_training_bias_metrics",
                Stage::PostTraining => "post_training_bias_metrics",
            };
            // FT needs rows, which a resample of counts does not have.
            let spec = SectionSpec {
                flip_test: None,
                ..spec
            };
            sections.push((key, spec, section));
        }
        let intervals = match bootstrap {
            Some(n) => {
                let with_docs: Vec<_> = sections.iter().map(|(k, s, d)| (*k, s, d)).collect();
                bootstrap::intervals(&self.state, &with_docs, n, BOOTSTRAP_SEED)?
            }
            None => bootstrap::Intervals::default(),
        };
        for (key, _, section) in sections {
            match key {
                "pre_training_bias_metrics" => analysis.pre_training_bias = Some(section),
                _ => analysis.post_training_bias = Some(section),
            }
        }
        Ok(intervals)
    }
}
