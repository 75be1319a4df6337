"""Starting the image as a hub would: sandbox, spawn, stub hub, the runtime stage."""
