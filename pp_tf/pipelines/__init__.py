"""Apache Beam pipelines for archives: `protect` and `evaluate` on any Beam runner.

* `pp_tf.pipelines.protect`: a glob of photos -> protected copies, written atomically,
  with a manifest and a dead-letter file; the protection is a `protect_<method>` SavedModel
  (`pp_tf.serving`) loaded once per worker.
* `pp_tf.pipelines.evaluate`: originals and their protected copies -> per-photo records
  and per-attacker aggregates.

They run on the DirectRunner locally and unchanged on Flink, Spark or Dataflow (README,
"Archives"). `apache-beam` is the optional extra `pp_tf[beam]`.
"""
