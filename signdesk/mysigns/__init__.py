"""My signs: takes of the user's own signs, recorded at the camera, imported or kept from corrections (Qt-free).

- ``store``: the takes folder (a dataset folder in the ``signdesk data prepare`` format), its atomic
  manifest, deletion and clean-up;
- ``checks``: why a take is refused (too short, too long, motionless);
- ``recorder``: the live camera path (capture → segmenter) that cuts takes out, and the import of files;
- ``corrections``: a word corrected in the Live transcript kept, with its clip, as a take;
- ``training``: training sets of my signs alone or mixed with a prepared WLASL dataset, and the
  my-signs figures of an evaluation;
- ``commands``: ``signdesk record`` and ``signdesk my-signs list|delete|import|dataset|export``.

Takes stay in the user data folder (``paths.my_signs_dir()``) and are never uploaded anywhere.
"""
