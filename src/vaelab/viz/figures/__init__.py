"""The figures of a run, one module per kind (``latent``, ``manifold``, ``interpolate``, ``all_pairs``,
``samples_per_epoch``, ``curves``, ``projector``, ``samples``, ``reconstructions``, ``nll_vs_k``, ``traversals``,
``attributes``), each with one
``draw(figs, o, out, write)``; ``registry`` maps the kinds to them. ``vaelab.viz.render.RunFigures`` holds what
they share (the run, its model, its test split and codes, loaded once)."""
