"""Selection quality you can measure: labelled manifests, the metrics, baselines and the development set."""
