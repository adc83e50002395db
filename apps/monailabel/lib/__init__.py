"""The medunet MONAI Label app's task classes."""
