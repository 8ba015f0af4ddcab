"""One module per architecture (named after its model_type): its config class and the class names of its
task heads. Modules here are plain Python and cheap; the registry imports one only when it is needed."""
